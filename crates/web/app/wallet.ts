// The browser wallet (any injected EIP-1193 provider): accounts, the network, Sign-In with
// Ethereum, typed-data signatures and transactions. Every request's state is shown to the user in
// a live region: waiting for the wallet, rejected in the wallet, pending, confirmed, reverted with
// the escrow's reason in words.

import { decodeErrorResult, getAddress, toHex, type Hex } from 'viem';
import { abi as escrowAbi } from '../../bindings/artifacts/PactumEscrow.json';
import { api, getConfig, setSession, type Session } from './api';
import { setStatus } from './dom';
import { explainEscrowError } from './format';

interface Eip1193 {
  request(args: { method: string; params?: unknown[] | object }): Promise<any>;
  on?(event: string, listener: (...args: any[]) => void): void;
}

export class WalletRejected extends Error {
  constructor() {
    super('You rejected the request in your wallet. Nothing was signed or sent.');
  }
}

export class WrongNetwork extends Error {
  constructor(
    public current: number,
    public wanted: number,
  ) {
    super(`Your wallet is on network ${current}; Pactum runs on network ${wanted}.`);
  }
}

export class WrongAccount extends Error {
  constructor(
    public current: string,
    public wanted: string,
  ) {
    super(`Your wallet is on account ${current}, but you signed in as ${wanted}: switch accounts in the wallet, or sign out and sign in again.`);
  }
}

/** Throws [`WrongAccount`] unless the wallet's account is `wanted`. */
export async function ensureAccount(wanted: string): Promise<void> {
  const current = await account();
  if (current.toLowerCase() !== wanted.toLowerCase()) throw new WrongAccount(current, getAddress(wanted));
}

export class NoWallet extends Error {
  constructor() {
    super('No browser wallet was found. Install one (any EIP-1193 wallet) and reload this page.');
  }
}

export function provider(): Eip1193 | null {
  return ((window as any).ethereum as Eip1193 | undefined) ?? null;
}

/** A wallet request; error 4001 (the user said no) becomes [`WalletRejected`]. */
export async function walletRequest(method: string, params?: unknown[]): Promise<any> {
  const p = provider();
  if (!p) throw new NoWallet();
  try {
    return await p.request({ method, params });
  } catch (e: any) {
    if (e?.code === 4001 || e?.code === 'ACTION_REJECTED') throw new WalletRejected();
    throw e;
  }
}

export async function account(): Promise<`0x${string}`> {
  const accounts: string[] = await walletRequest('eth_requestAccounts');
  if (!accounts?.length) throw new Error('The wallet shared no account.');
  return getAddress(accounts[0]);
}

export async function chainId(): Promise<number> {
  return Number(BigInt(await walletRequest('eth_chainId')));
}

/** Throws [`WrongNetwork`] unless the wallet is on the configured chain. */
export async function ensureNetwork(): Promise<void> {
  const cfg = await getConfig();
  const current = await chainId();
  if (current !== cfg.chainId) throw new WrongNetwork(current, cfg.chainId);
}

/** Asks the wallet to switch to the configured chain (EIP-3326). */
export async function switchNetwork(): Promise<void> {
  const cfg = await getConfig();
  try {
    await walletRequest('wallet_switchEthereumChain', [{ chainId: toHex(cfg.chainId) }]);
  } catch (e: any) {
    if (e?.code === 4902) {
      throw new Error(`Your wallet does not know network ${cfg.chainId}; add it in the wallet first.`);
    }
    throw e;
  }
  await ensureNetwork();
}

/** The EIP-4361 message this app asks the wallet to sign; the server verifies the exact text signed. */
export function siweMessage(p: {
  domain: string;
  address: string;
  uri: string;
  chainId: number;
  nonce: string;
  issuedAt: Date;
  expirationTime: Date;
}): string {
  const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return [
    `${p.domain} wants you to sign in with your Ethereum account:`,
    getAddress(p.address),
    '',
    'Sign in to Pactum.',
    '',
    `URI: ${p.uri}`,
    'Version: 1',
    `Chain ID: ${p.chainId}`,
    `Nonce: ${p.nonce}`,
    `Issued At: ${iso(p.issuedAt)}`,
    `Expiration Time: ${iso(p.expirationTime)}`,
  ].join('\n');
}

/** Sign-In with Ethereum through the API; stores the session. */
export async function signIn(): Promise<Session> {
  const address = await account();
  await ensureNetwork();
  const n = await api<{ nonce: string; domain: string; uri: string; chainId: number }>('POST', '/v1/auth/nonce', {});
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);
  const message = siweMessage({
    domain: n.domain,
    address,
    uri: n.uri,
    chainId: n.chainId,
    nonce: n.nonce,
    issuedAt: now,
    expirationTime: new Date(now.getTime() + 8 * 3600 * 1000),
  });
  const signature = await walletRequest('personal_sign', [toHex(message), address]);
  const s = await api<Session>('POST', '/v1/auth/login', { message, signature });
  setSession(s);
  return s;
}

export async function signTypedData(address: string, typedData: unknown): Promise<Hex> {
  await ensureAccount(address);
  await ensureNetwork();
  return walletRequest('eth_signTypedData_v4', [address, JSON.stringify(typedData)]);
}

export interface PreparedTx {
  description: string;
  from: `0x${string}`;
  to: `0x${string}`;
  data: Hex;
  value: string;
}

/** What a revert says, in words: the escrow's custom error decoded, else the node's message. */
async function revertReason(tx: PreparedTx, blockNumber: string): Promise<string> {
  try {
    await walletRequest('eth_call', [{ from: tx.from, to: tx.to, data: tx.data, value: toHex(BigInt(tx.value)) }, blockNumber]);
    return 'the transaction reverted (the escrow gave no reason)';
  } catch (e: any) {
    const data: Hex | undefined = e?.data?.data ?? e?.data ?? e?.error?.data;
    if (typeof data === 'string' && data.startsWith('0x') && data.length >= 10) {
      try {
        const decoded = decodeErrorResult({ abi: escrowAbi as any, data });
        return explainEscrowError(decoded.errorName, (decoded.args ?? []) as readonly unknown[]);
      } catch {
        /* not one of the escrow's errors */
      }
    }
    return String(e?.message ?? e);
  }
}

/**
 * Sends each transaction in turn through the wallet, showing its state in `status`; resolves
 * with the last receipt's block, or throws after showing why it stopped.
 */
export async function sendAll(status: HTMLElement, txs: PreparedTx[]): Promise<number> {
  let block = 0;
  for (const [i, tx] of txs.entries()) {
    const step = txs.length > 1 ? `Step ${i + 1} of ${txs.length}: ` : '';
    setStatus(status, 'waiting', `${step}Waiting for your wallet to confirm: ${tx.description}.`);
    let hash: Hex;
    try {
      await ensureAccount(tx.from);
      await ensureNetwork();
      hash = await walletRequest('eth_sendTransaction', [
        { from: tx.from, to: tx.to, data: tx.data, value: toHex(BigInt(tx.value)) },
      ]);
    } catch (e) {
      if (e instanceof WalletRejected) setStatus(status, 'rejected', `${step}Rejected in your wallet. Nothing was sent.`);
      else setStatus(status, 'error', `${step}The wallet could not send it: ${(e as Error).message}`);
      throw e;
    }
    setStatus(status, 'pending', `${step}Pending: transaction ${hash} is waiting for a block.`);
    let receipt: any = null;
    for (let tries = 0; !receipt; tries++) {
      receipt = await walletRequest('eth_getTransactionReceipt', [hash]);
      if (!receipt) await new Promise((r) => setTimeout(r, tries < 20 ? 250 : 1000));
    }
    block = Number(BigInt(receipt.blockNumber));
    if (receipt.status !== '0x1') {
      const reason = await revertReason(tx, receipt.blockNumber);
      setStatus(status, 'reverted', `${step}Reverted in block ${block}: ${reason}.`);
      throw new Error(reason);
    }
    setStatus(status, 'confirmed', `${step}Confirmed in block ${block} (transaction ${hash}).`);
  }
  return block;
}

/** Waits until the indexer has mirrored `block`, so the API shows the transaction's effect. */
export async function indexed(block: number): Promise<void> {
  for (let i = 0; i < 120; i++) {
    const s = await api<{ indexed: number }>('GET', '/v1/status');
    if (s.indexed >= block) return;
    await new Promise((r) => setTimeout(r, 250));
  }
}
