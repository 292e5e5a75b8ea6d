// The browser wallet (any injected EIP-1193 provider): accounts, the network, Sign-In with
// Ethereum, typed-data signatures and transactions. Every request's state is shown to the user in
// a live region: waiting for the wallet, rejected in the wallet, pending, confirmed, reverted with
// the escrow's reason in words.

import { decodeErrorResult, getAddress, toHex, type Hex } from 'viem';
import { abi as escrowAbi } from '../../bindings/artifacts/PactumEscrow.json';
import { api, getConfig, setSession, type Session } from './api';
import { h, setStatus } from './dom';
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
    what = 'Pactum runs on network',
  ) {
    super(`Your wallet is on network ${current}; ${what} ${wanted}.`);
  }
}

/** The wallet was asked to switch to the network something is for, and the user said no. */
export class SwitchDeclined extends WalletRejected {
  constructor(public wanted: number) {
    super();
    this.message = `You declined to switch your wallet to network ${wanted}. Nothing was signed or sent.`;
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

/** Throws [`WrongNetwork`] unless the wallet is on chain `wanted` (default: the primary chain). */
export async function ensureNetwork(wanted?: number, what?: string): Promise<void> {
  const want = wanted ?? (await getConfig()).chainId;
  const current = await chainId();
  if (current !== want) throw new WrongNetwork(current, want, what);
}

/** Asks the wallet to switch to chain `wanted` (EIP-3326; default: the primary chain), then
 *  checks that it did: a wallet that answers yes but stays where it was is [`WrongNetwork`]. */
export async function switchNetwork(wanted?: number, what?: string): Promise<void> {
  const want = wanted ?? (await getConfig()).chainId;
  try {
    await walletRequest('wallet_switchEthereumChain', [{ chainId: toHex(want) }]);
  } catch (e: any) {
    if (e?.code === 4902) {
      throw new Error(`Your wallet does not know network ${want}; add it in the wallet first.`);
    }
    throw e;
  }
  await ensureNetwork(want, what);
}

/**
 * Makes sure the wallet is on chain `wanted` before anything is signed, sent or read for it:
 * nothing when it is; otherwise the wallet is asked to switch (`onSwitch` is told first, to say
 * so), and whether it did is checked again. Throws [`SwitchDeclined`] (a [`WalletRejected`]) when
 * the switch is refused, [`WrongNetwork`] when the wallet is still elsewhere.
 */
export async function ensureChain(wanted: number, what = 'this is for network', onSwitch?: (current: number) => void): Promise<void> {
  const current = await chainId();
  if (current === wanted) return;
  onSwitch?.(current);
  try {
    await switchNetwork(wanted, what);
  } catch (e) {
    if (e instanceof WalletRejected) throw new SwitchDeclined(wanted);
    throw e;
  }
}

/** The chain a typed-data signature is bound to (its EIP-712 domain's `chainId`), if any. */
export function typedDataChain(typedData: unknown): number | null {
  const c = (typedData as any)?.domain?.chainId;
  if (c === undefined || c === null) return null;
  try {
    return Number(BigInt(c));
  } catch {
    return null;
  }
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

/** Sign-In with Ethereum through the API; stores the session. The message names the wallet's
 *  network if this deployment serves it; on any other, [`WrongNetwork`] names the primary one. */
export async function signIn(): Promise<Session> {
  const address = await account();
  const current = await chainId();
  const cfg = await getConfig();
  // Checked before a nonce is spent; then against the chains the nonce's answer says a message may name.
  if (!cfg.chains.some((c) => c.chainId === current)) throw new WrongNetwork(current, cfg.chainId);
  const n = await api<{ nonce: string; domain: string; uri: string; chainId: number; chainIds?: number[] }>('POST', '/v1/auth/nonce', {});
  const served = n.chainIds?.length ? n.chainIds : [n.chainId];
  if (!served.includes(current)) throw new WrongNetwork(current, n.chainId);
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);
  const message = siweMessage({
    domain: n.domain,
    address,
    uri: n.uri,
    chainId: current,
    nonce: n.nonce,
    issuedAt: now,
    expirationTime: new Date(now.getTime() + 8 * 3600 * 1000),
  });
  const signature = await walletRequest('personal_sign', [toHex(message), address]);
  const s = await api<Session>('POST', '/v1/auth/login', { message, signature });
  setSession(s);
  return s;
}

/** Signs typed data, with the wallet first on the chain its domain names (switching if needed;
 *  `onSwitch` is told before the wallet is asked). */
export async function signTypedData(address: string, typedData: unknown, onSwitch?: (current: number, wanted: number) => void): Promise<Hex> {
  await ensureAccount(address);
  const wanted = typedDataChain(typedData) ?? (await getConfig()).chainId;
  await ensureChain(wanted, 'what you sign is for network', (current) => onSwitch?.(current, wanted));
  return walletRequest('eth_signTypedData_v4', [address, JSON.stringify(typedData)]);
}

export interface PreparedTx {
  description: string;
  /** The chain to send it on (a server without several chains leaves it out: the primary one). */
  chainId?: number;
  from: `0x${string}`;
  to: `0x${string}`;
  data: Hex;
  value: string;
}

/** Where a transaction was confirmed: its block, on its chain. */
export interface Sent {
  block: number;
  chainId: number;
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
 * with the last receipt's block and chain, or throws after showing why it stopped. Each is sent
 * only with the wallet on the chain it was prepared for: the wallet is asked to switch first if
 * it is elsewhere, and nothing is sent while it is still elsewhere.
 */
export async function sendAll(status: HTMLElement, txs: PreparedTx[]): Promise<Sent> {
  const primary = (await getConfig()).chainId;
  let sent: Sent = { block: 0, chainId: primary };
  for (const [i, tx] of txs.entries()) {
    const step = txs.length > 1 ? `Step ${i + 1} of ${txs.length}: ` : '';
    const want = tx.chainId ?? primary;
    setStatus(status, 'waiting', `${step}Waiting for your wallet to confirm: ${tx.description}.`);
    let hash: Hex;
    try {
      await ensureAccount(tx.from);
      let switching = false;
      await ensureChain(want, 'this transaction is for network', (current) => {
        switching = true;
        setStatus(status, 'waiting', `${step}Waiting for your wallet to switch from network ${current} to network ${want}, where this transaction goes: ${tx.description}.`);
      });
      if (switching) setStatus(status, 'waiting', `${step}Waiting for your wallet to confirm: ${tx.description}.`);
      // The chain named in the request too: a wallet that moved meanwhile refuses it (EIP-1193 wallets check it).
      hash = await walletRequest('eth_sendTransaction', [
        { from: tx.from, to: tx.to, data: tx.data, value: toHex(BigInt(tx.value)), chainId: toHex(want) },
      ]);
    } catch (e) {
      if (e instanceof SwitchDeclined) setStatus(status, 'rejected', `${step}${e.message}`);
      else if (e instanceof WalletRejected) setStatus(status, 'rejected', `${step}Rejected in your wallet. Nothing was sent.`);
      else if (e instanceof WrongNetwork) setStatus(status, 'wrong-network', step, h('strong', {}, 'Wrong network. '), `${e.message} Nothing was sent: switch your wallet to network ${want} and try again.`);
      else setStatus(status, 'error', `${step}The wallet could not send it: ${(e as Error).message}`);
      throw e;
    }
    setStatus(status, 'pending', `${step}Pending: transaction ${hash} is waiting for a block.`);
    let receipt: any = null;
    for (let tries = 0; !receipt; tries++) {
      // The receipt is asked of the wallet's node: only while it is on the transaction's chain.
      const on = await chainId();
      if (on !== want) setStatus(status, 'pending', `${step}Pending: transaction ${hash} was sent on network ${want}, but your wallet is now on network ${on}: switch it back to see the outcome.`);
      else receipt = await walletRequest('eth_getTransactionReceipt', [hash]);
      if (!receipt) await new Promise((r) => setTimeout(r, tries < 20 ? 250 : 1000));
    }
    const block = Number(BigInt(receipt.blockNumber));
    sent = { block, chainId: want };
    if (receipt.status !== '0x1') {
      const reason = await revertReason(tx, receipt.blockNumber);
      setStatus(status, 'reverted', `${step}Reverted in block ${block}: ${reason}.`);
      throw new Error(reason);
    }
    setStatus(status, 'confirmed', `${step}Confirmed in block ${block} (transaction ${hash}).`);
  }
  return sent;
}

/** Waits until the indexer has mirrored `block` of chain `chain` (default: the primary one), so
 *  the API shows the transaction's effect. */
export async function indexed(block: number, chain?: number): Promise<void> {
  for (let i = 0; i < 120; i++) {
    const s = await api<{ chainId: number; indexed: number; chains?: { chainId: number; indexed: number }[] }>('GET', '/v1/status');
    const c = chain === undefined || chain === s.chainId ? s : s.chains?.find((x) => x.chainId === chain);
    if (c && c.indexed >= block) return;
    await new Promise((r) => setTimeout(r, 250));
  }
}
