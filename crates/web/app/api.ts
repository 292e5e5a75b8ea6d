// The API client: same origin, bearer session, and the API's one error shape turned into an
// exception whose message is the API's own sentence.

export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface Session {
  token: string;
  address: `0x${string}`;
  role: 'party' | 'auditor';
  expiresAt: number;
}

const KEY = 'pactum.session';

export function session(): Session | null {
  const raw = sessionStorage.getItem(KEY);
  if (!raw) return null;
  try {
    const s = JSON.parse(raw) as Session;
    return s.expiresAt * 1000 > Date.now() ? s : null;
  } catch {
    return null;
  }
}

export function setSession(s: Session | null) {
  if (s) sessionStorage.setItem(KEY, JSON.stringify(s));
  else sessionStorage.removeItem(KEY);
}

export async function api<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  const s = session();
  if (s) headers.authorization = `Bearer ${s.token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new ApiError(0, 'network', `the Pactum server did not answer (${String(e)})`);
  }
  const text = await res.text();
  let value: any = null;
  try {
    value = text ? JSON.parse(text) : null;
  } catch {
    value = null;
  }
  if (!res.ok) {
    if (res.status === 401 && s) setSession(null);
    const err = value?.error;
    throw new ApiError(res.status, err?.code ?? 'http_error', err?.message ?? `${method} ${path}: HTTP ${res.status}`);
  }
  return value as T;
}

export interface TokenInfo {
  address: `0x${string}`;
  symbol: string | null;
  decimals: number | null;
}

/** One chain the deployment serves: its escrow and the tokens agreements on it may use. */
export interface ChainInfo {
  chainId: number;
  escrow: `0x${string}`;
  tokens: TokenInfo[];
}

export interface Config {
  /** The primary chain (sign-in's default, a new draft's default). */
  chainId: number;
  escrow: `0x${string}`;
  siweDomain: string;
  siweUri: string;
  /** The primary chain's tokens. */
  tokens: TokenInfo[];
  /** Every chain served, the primary one first (a server without it serves the primary only). */
  chains: ChainInfo[];
}

let config: Promise<Config> | null = null;
export function getConfig(): Promise<Config> {
  config ??= api<Config>('GET', '/v1/config').then((c) => ({
    ...c,
    chains: c.chains?.length ? c.chains : [{ chainId: c.chainId, escrow: c.escrow, tokens: c.tokens }],
  }));
  return config;
}

/** The served chain `chainId` (the primary one when not given), or null when it is not served. */
export function chainOf(cfg: Config, chainId?: number | string | null): ChainInfo | null {
  if (chainId === undefined || chainId === null) return cfg.chains[0];
  return cfg.chains.find((c) => c.chainId === Number(chainId)) ?? null;
}

/** The tokens of chain `chainId` (token addresses differ per chain); none for a chain not served. */
export function tokensOf(cfg: Config, chainId?: number | string | null): TokenInfo[] {
  return chainOf(cfg, chainId)?.tokens ?? [];
}

/** True when the deployment serves more than one chain: lists and pages then say which. */
export function multiChain(cfg: Config): boolean {
  return cfg.chains.length > 1;
}

/** How a chain is named on the page: its id, and "(primary)" for the deployment's primary one. */
export function networkName(cfg: Config, chainId: number | string): string {
  return Number(chainId) === cfg.chainId ? `${chainId} (primary)` : String(chainId);
}
