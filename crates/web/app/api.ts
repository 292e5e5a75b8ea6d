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

export interface Config {
  chainId: number;
  escrow: `0x${string}`;
  siweDomain: string;
  siweUri: string;
  tokens: TokenInfo[];
}

let config: Promise<Config> | null = null;
export function getConfig(): Promise<Config> {
  config ??= api<Config>('GET', '/v1/config');
  return config;
}
