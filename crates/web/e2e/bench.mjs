// The web app's load figures under throttling, in real Chromium (playwright-core, the system's
// /usr/bin/chromium), against the stack exactly as `pactum dev` starts it (free ports, a private
// throwaway database). It prints figures and never asserts a timing.
//
// Throttling, per page over CDP: Emulation.setCPUThrottlingRate 4 (4x slower CPU) and
// Network.emulateNetworkConditions (150 ms round trip, 1.6 Mbit/s = 200,000 bytes/s each way).
//
// Two pages, each loaded cold (a fresh browser context, the browser cache cleared) and then warm
// (the same context, the same URL again, the cache as the cold load left it), RUNS times each:
//   - `/` signed out (the landing page), drawn = [data-testid="landing"] in the DOM;
//   - an agreement page signed in as the brand, drawn = its milestone table
//     ([data-testid="milestone-0-status"]; the app draws the whole screen at once).
// For each load: time from navigation start to drawn (a MutationObserver in the page, so no polling
// delay), DOMContentLoaded and load (Navigation Timing), bytes over the wire (the sum of CDP's
// encodedDataLength per request), requests, 304s and cache hits, the API requests and how many of
// them waited for another one to finish (waves: 1 + the waves of the latest API response that
// ended before it started). Median and worst of RUNS, then one cold request timeline per page,
// then the headers the server sends (compression, ETag, 304 on If-None-Match).
//
// The agreement is created unthrottled first, directly on chain (both parties' dev keys sign it,
// the brand sends `create`; no draft on the server, so the page shows no terms section and makes
// no GET /v1/drafts/{id}), and the brand signs in by SIWE with its dev key; the session goes into
// the page's sessionStorage. The wallet the page sees is an injected EIP-1193 provider whose
// requests this script forwards to anvil (as in run.mjs): those are not HTTP requests of the page
// and are not throttled; the page waits for them all the same (chainNow, claimableOf).
//
//   node e2e/bench.mjs [--pactum PATH (target/debug/pactum)] [--runs N (5)] [--agreements N (3)]

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { encodeFunctionData, getAddress, hashTypedData, keccak256, stringToBytes, toHex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';

const here = path.dirname(fileURLToPath(import.meta.url));
const web = path.resolve(here, '..');
const root = path.resolve(web, '../..');
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : dflt;
};
const pactum = path.resolve(opt('--pactum', path.join(root, 'target/debug/pactum')));
const RUNS = Number(opt('--runs', '5'));
const AGREEMENTS = Number(opt('--agreements', '3'));
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const TIMEOUT = 60_000;
const THROTTLE = { cpuRate: 4, latency: 150, bytesPerSecond: 200_000 };

const ACCOUNTS = Object.fromEntries(Object.entries({
  brand: '0x70997970c51812dc3a010c7d01b50e0d17dc79c8',
  creator: '0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc',
  arbiter: '0x90f79bf6eb2c4f870365e785982e1f101e93b906',
}).map(([k, v]) => [k, getAddress(v)]));
const KEYS = {
  brand: '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
  creator: '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a',
};
const ESCROW = JSON.parse(readFileSync(path.join(root, 'crates/bindings/artifacts/PactumEscrow.json'), 'utf8'));

// ------------------------------------------------------------------ the stack (as run.mjs)

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function startStack() {
  const anvilPort = await freePort();
  const apiPort = await freePort();
  const cwd = mkdtempSync(path.join(os.tmpdir(), 'pactum-web-bench-'));
  const env = { ...process.env, PACTUM_ANVIL: process.env.PACTUM_ANVIL ?? path.join(root, 'node_modules/.bin/anvil'), RUST_LOG: process.env.RUST_LOG ?? 'warn' };
  delete env.DATABASE_URL;
  const child = spawn(pactum, ['dev', '--anvil-port', String(anvilPort), '--listen', `127.0.0.1:${apiPort}`], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const base = `http://127.0.0.1:${apiPort}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`pactum dev exited early:\n${log}`);
    if (Date.now() > deadline) throw new Error(`pactum dev did not come up:\n${log}`);
    if (log.includes('Ctrl-C stops everything')) {
      try {
        if ((await fetch(`${base}/readyz`)).ok) break;
      } catch {
        /* not listening yet */
      }
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    base,
    rpcUrl: `http://127.0.0.1:${anvilPort}`,
    async stop() {
      if (child.exitCode === null) child.kill('SIGINT');
      const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const r = await exited;
      clearTimeout(t);
      rmSync(cwd, { recursive: true, force: true });
      return r;
    },
  };
}

let rpcId = 0;
async function rpc(url, method, params = []) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: ++rpcId, method, params }) });
  return res.json();
}

async function until(what, fn, ms = TIMEOUT) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => null);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

// ------------------------------------------------------------------ the agreement and the session

const AGREEMENT_TYPES = Object.fromEntries(
  ['Agreement', 'Milestone'].map((t) => {
    const agreement = ESCROW.abi.find((x) => x.name === 'create').inputs[0];
    const comps = t === 'Agreement' ? agreement.components : agreement.components.find((c) => c.name === 'milestones').components;
    return [t, comps.map((c) => ({ name: c.name, type: c.name === 'milestones' ? 'Milestone[]' : c.type }))];
  }),
);

/** A two-milestone pUSD agreement, signed by both dev keys and created on chain by the brand. */
async function createAgreement(stack, cfg, salt) {
  const pusd = cfg.tokens.find((t) => t.symbol === 'pUSD') ?? cfg.tokens[0];
  const now = Number(BigInt((await rpc(stack.rpcUrl, 'eth_getBlockByNumber', ['latest', false])).result.timestamp));
  const day = 86_400;
  const agreement = {
    brand: ACCOUNTS.brand, creator: ACCOUNTS.creator, arbiter: ACCOUNTS.arbiter, token: getAddress(pusd.address),
    termsHash: keccak256(stringToBytes('pactum web bench')), arbiterFeeBps: 100, contestWindow: 2 * day, arbitrationWindow: 7 * day,
    revisionRounds: 1, deadline: now + 7 * day, salt,
    milestones: [1, 2].map((i) => ({ amount: 150_000_000n * BigInt(i), deadline: now + 30 * i * day, reviewWindow: 3 * day })),
  };
  const typed = { domain: { name: 'Pactum', version: '1', chainId: cfg.chainId, verifyingContract: getAddress(cfg.escrow) }, types: AGREEMENT_TYPES, primaryType: 'Agreement', message: agreement };
  const brandSig = await privateKeyToAccount(KEYS.brand).signTypedData(typed);
  const creatorSig = await privateKeyToAccount(KEYS.creator).signTypedData(typed);
  const data = encodeFunctionData({ abi: ESCROW.abi, functionName: 'create', args: [agreement, brandSig, creatorSig] });
  const sent = await rpc(stack.rpcUrl, 'eth_sendTransaction', [{ from: ACCOUNTS.brand, to: cfg.escrow, data }]);
  if (sent.error) throw new Error(`create: ${JSON.stringify(sent.error)}`);
  const receipt = await until('the create receipt', async () => (await rpc(stack.rpcUrl, 'eth_getTransactionReceipt', [sent.result])).result);
  if (receipt.status !== '0x1') throw new Error(`create reverted: ${JSON.stringify(receipt)}`);
  const id = hashTypedData(typed);
  await until('the indexer to see the agreement', async () => (await fetch(`${stack.base}/v1/agreements/${id}`)).ok);
  return id;
}

/** SIWE with the brand's dev key, the message exactly as the app builds it (app/wallet.ts). */
async function signIn(base, key) {
  const account = privateKeyToAccount(key);
  const n = await (await fetch(`${base}/v1/auth/nonce`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).json();
  const iso = (d) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);
  const message = [
    `${n.domain} wants you to sign in with your Ethereum account:`, account.address, '', 'Sign in to Pactum.', '',
    `URI: ${n.uri}`, 'Version: 1', `Chain ID: ${n.chainId}`, `Nonce: ${n.nonce}`, `Issued At: ${iso(now)}`, `Expiration Time: ${iso(new Date(now.getTime() + 8 * 3600 * 1000))}`,
  ].join('\n');
  const signature = await account.signMessage({ message });
  const res = await fetch(`${base}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message, signature }) });
  if (!res.ok) throw new Error(`login: HTTP ${res.status} ${await res.text()}`);
  return res.json();
}

// ------------------------------------------------------------------ one measured load

/** A fresh context (own cache and storage), optionally signed in, with the test wallet. */
async function newContext(browser, stack, cfg, sessionJson, selector) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-GB', timezoneId: 'Europe/London' });
  context.setDefaultTimeout(TIMEOUT);
  context.walletCalls = [];
  await context.exposeFunction('__benchWallet', async (method, params) => {
    const call = { method, start: Date.now() };
    context.walletCalls.push(call);
    try {
      if (method === 'eth_requestAccounts' || method === 'eth_accounts') return { result: [ACCOUNTS.brand] };
      if (method === 'eth_chainId') return { result: `0x${cfg.chainId.toString(16)}` };
      const r = await rpc(stack.rpcUrl, method, params);
      return r.error ? { error: r.error } : { result: r.result };
    } finally {
      call.end = Date.now();
    }
  });
  await context.addInitScript(([s, sel]) => {
    if (s) sessionStorage.setItem('pactum.session', s);
    // The moment `sel` is in the DOM: the page is drawn (no polling delay).
    const obs = new MutationObserver(() => {
      if (window.__drawn == null && document.querySelector(sel)) {
        window.__drawn = performance.now();
        obs.disconnect();
      }
    });
    obs.observe(document, { childList: true, subtree: true });
    window.ethereum = {
      async request({ method, params }) {
        const r = await window.__benchWallet(method, params ?? []);
        if (r.error) throw Object.assign(new Error(r.error.message), { code: r.error.code });
        return r.result;
      },
      on() {},
      removeListener() {},
    };
  }, [sessionJson, selector]);
  return context;
}

/** Loads `url` in `page` under throttling; `selector` in the DOM means the page is drawn. */
async function measure(page, url) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: THROTTLE.cpuRate });
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: THROTTLE.latency, downloadThroughput: THROTTLE.bytesPerSecond, uploadThroughput: THROTTLE.bytesPerSecond });
  const reqs = new Map();
  cdp.on('Network.requestWillBeSent', (e) => {
    if (!reqs.has(e.requestId)) reqs.set(e.requestId, { url: e.request.url, method: e.request.method, start: e.timestamp, type: e.type });
  });
  cdp.on('Network.requestServedFromCache', (e) => {
    const r = reqs.get(e.requestId);
    if (r) r.cache = 'memory/disk';
  });
  cdp.on('Network.responseReceivedExtraInfo', (e) => {
    const r = reqs.get(e.requestId);
    if (r) r.wire = e.statusCode; // the status on the wire (a revalidated 304 shows here)
  });
  cdp.on('Network.responseReceived', (e) => {
    const r = reqs.get(e.requestId);
    if (!r) return;
    r.status = e.response.status;
    r.encoding = e.response.headers['content-encoding'] ?? e.response.headers['Content-Encoding'] ?? '';
    if (e.response.fromDiskCache) r.cache = 'disk';
    if (e.response.fromPrefetchCache) r.cache = 'prefetch';
  });
  cdp.on('Network.loadingFinished', (e) => {
    const r = reqs.get(e.requestId);
    if (!r) return;
    r.end = e.timestamp;
    r.bytes = e.encodedDataLength;
  });
  cdp.on('Network.loadingFailed', (e) => {
    const r = reqs.get(e.requestId);
    if (r) (r.end = e.timestamp), (r.failed = e.errorText);
  });
  page.context().walletCalls.length = 0;
  await page.goto(url, { waitUntil: 'load', timeout: TIMEOUT });
  await page.waitForFunction(() => window.__drawn != null, null, { timeout: TIMEOUT, polling: 50 }).catch(async (e) => {
    throw new Error(`${url} not drawn: ${e.message}\n${await page.locator('main').innerText().catch(() => '?')}`);
  });
  await page.waitForTimeout(1000); // requests the drawn page still makes
  const t = await page.evaluate(() => {
    const n = performance.getEntriesByType('navigation')[0];
    return { drawn: window.__drawn, dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd, origin: performance.timeOrigin };
  });
  const wallet = page.context().walletCalls.map((c) => ({ method: 'wallet', path: c.method, startMs: c.start - t.origin, endMs: c.end == null ? null : c.end - t.origin, wallet: true }));
  await cdp.detach();
  const list = [...reqs.values()].filter((r) => !r.url.startsWith('data:'));
  const t0 = Math.min(...list.map((r) => r.start));
  const rel = (ts) => (ts == null ? null : (ts - t0) * 1000);
  const requests = list.map((r) => ({ ...r, status: r.wire ?? r.status, path: new URL(r.url).pathname + new URL(r.url).search, startMs: rel(r.start), endMs: rel(r.end) }));
  // API requests: which started only after another one had finished.
  const api = requests.filter((r) => new URL(r.url).pathname.startsWith('/v1/')).sort((a, b) => a.startMs - b.startMs);
  for (const r of api) {
    const before = api.filter((o) => o !== r && o.endMs != null && o.endMs <= r.startMs);
    const last = before.sort((a, b) => b.endMs - a.endMs)[0];
    r.after = last ? last.path : null;
    r.wave = last ? last.wave + 1 : 1;
  }
  return {
    drawn: t.drawn, dcl: t.dcl, load: t.load,
    bytes: requests.reduce((s, r) => s + (r.bytes ?? 0), 0),
    requests: requests.length,
    notModified: requests.filter((r) => r.status === 304).length,
    cached: requests.filter((r) => r.cache).length,
    apiCount: api.length,
    apiWaves: api.reduce((m, r) => Math.max(m, r.wave), 0),
    timeline: [...requests, ...wallet].sort((a, b) => a.startMs - b.startMs),
  };
}

// ------------------------------------------------------------------ headers, outside the browser

function rawGet(base, p, headers) {
  return new Promise((resolve, reject) => {
    http.get(`${base}${p}`, { headers }, (res) => {
      let n = 0;
      res.on('data', (d) => (n += d.length));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, bytes: n }));
    }).on('error', reject);
  });
}

async function headerReport(stack, id, token, scriptPath) {
  const auth = { authorization: `Bearer ${token}` };
  const rows = [];
  for (const [p, extra] of [['/', {}], [scriptPath, {}], ['/v1/config', {}], [`/v1/agreements/${id}`, auth], [`/v1/agreements/${id}/history`, auth], [`/v1/agreements?party=${ACCOUNTS.brand}&include=milestones&limit=200`, auth]]) {
    const plain = await rawGet(stack.base, p, { ...extra });
    const br = await rawGet(stack.base, p, { ...extra, 'accept-encoding': 'br, gzip' });
    const gz = await rawGet(stack.base, p, { ...extra, 'accept-encoding': 'gzip' });
    const etag = br.headers.etag ?? plain.headers.etag;
    const again = etag ? await rawGet(stack.base, p, { ...extra, 'accept-encoding': 'br, gzip', 'if-none-match': etag }) : null;
    rows.push({
      path: p.length > 40 ? `${p.slice(0, 37)}...` : p,
      identity: plain.bytes,
      br: `${br.headers['content-encoding'] ?? 'none'} ${br.bytes}`,
      gzip: `${gz.headers['content-encoding'] ?? 'none'} ${gz.bytes}`,
      etag: etag ? 'yes' : 'no',
      ifNoneMatch: again ? `${again.status}` : '-',
      cacheControl: br.headers['cache-control'] ?? '-',
    });
  }
  return rows;
}

// ------------------------------------------------------------------ printing

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const worst = (xs) => Math.max(...xs);
const ms = (x) => `${Math.round(x)}`;
const kb = (x) => (x / 1000).toFixed(1);
function table(head, rows) {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (r) => r.map((c, i) => (i === 0 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join('  ');
  console.log(line(head));
  console.log(w.map((n) => '-'.repeat(n)).join('  '));
  for (const r of rows) console.log(line(r));
}

// ------------------------------------------------------------------ main

async function main() {
  const t0 = Date.now();
  const stack = await startStack();
  let chrome = null;
  let userDataDir = null;
  try {
    console.log(`pactum dev up at ${stack.base} in ${((Date.now() - t0) / 1000).toFixed(1)} s (${pactum})`);
    const cfg = await (await fetch(`${stack.base}/v1/config`)).json();
    const ids = [];
    for (let i = 0; i < AGREEMENTS; i++) ids.push(await createAgreement(stack, cfg, BigInt(100 + i)));
    const id = ids[0];
    const session = await signIn(stack.base, KEYS.brand);
    console.log(`${AGREEMENTS} agreements of the brand created on chain (unthrottled), the page measured is ${id}; brand signed in`);

    userDataDir = mkdtempSync(path.join(os.tmpdir(), 'pactum-web-bench-chromium-'));
    chrome = spawn(chromiumPath, ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${userDataDir}`, '--remote-debugging-port=0', 'about:blank'], { stdio: ['ignore', 'ignore', 'pipe'] });
    const wsEndpoint = await new Promise((resolve, reject) => {
      let err = '';
      const timer = setTimeout(() => reject(new Error(`chromium did not start:\n${err}`)), 30_000);
      chrome.stderr.on('data', (d) => {
        err += d;
        const m = err.match(/DevTools listening on (ws:\/\/\S+)/);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      chrome.on('exit', (code) => reject(new Error(`chromium exited (${code}):\n${err}`)));
    });
    const browser = await chromium.connectOverCDP(wsEndpoint);

    const pages = [
      { name: '/ (signed out)', url: `${stack.base}/`, selector: '[data-testid="landing"]', session: null },
      { name: 'dashboard (brand)', url: `${stack.base}/`, selector: 'main a[href^="/agreements/"]', session: JSON.stringify(session) },
      { name: 'agreement (brand)', url: `${stack.base}/agreements/${id}`, selector: '[data-testid="milestone-0-status"]', session: JSON.stringify(session) },
    ];
    // One unmeasured, unthrottled load first: the browser's first navigation pays for starting its
    // network service and renderer, which no later load (and no real visit) pays again.
    {
      const context = await newContext(browser, stack, cfg, null, 'main');
      await (await context.newPage()).goto(`${stack.base}/`, { waitUntil: 'load', timeout: TIMEOUT });
      await context.close();
    }
    const results = new Map();
    const errors = [];
    for (let run = 1; run <= RUNS; run++) {
      for (const pg of pages) {
        const context = await newContext(browser, stack, cfg, pg.session, pg.selector);
        const page = await context.newPage();
        page.on('pageerror', (e) => errors.push(`${pg.name}: ${e.message}`));
        const cdp = await context.newCDPSession(page);
        await cdp.send('Network.clearBrowserCache');
        await cdp.detach();
        const cold = await measure(page, pg.url);
        const warm = await measure(page, pg.url);
        await context.close();
        for (const [kind, m] of [['cold', cold], ['warm', warm]]) {
          const key = `${pg.name}|${kind}`;
          if (!results.has(key)) results.set(key, []);
          results.get(key).push(m);
        }
        console.log(`run ${run}/${RUNS} ${pg.name}: cold drawn ${ms(cold.drawn)} ms, warm drawn ${ms(warm.drawn)} ms`);
      }
    }

    console.log(`\nThrottled: CPU ${THROTTLE.cpuRate}x slower, ${THROTTLE.latency} ms round trip, ${(THROTTLE.bytesPerSecond * 8) / 1e6} Mbit/s each way; ${RUNS} runs; median / worst.`);
    console.log('Cold: a fresh browser context, browser cache cleared. Warm: the same URL again in that context.');
    console.log('Times in ms from navigation start. Bytes: sum of encodedDataLength (headers included) over the page\'s requests.\n');
    const rows = [];
    for (const [key, ms_] of results) {
      const [name, kind] = key.split('|');
      const col = (f, fmt) => `${fmt(median(ms_.map(f)))} / ${fmt(worst(ms_.map(f)))}`;
      const int = (x) => `${Math.round(x)}`;
      rows.push([`${name} ${kind}`, col((m) => m.drawn, ms), col((m) => m.dcl, ms), col((m) => m.load, ms), col((m) => m.bytes, kb), col((m) => m.requests, int), col((m) => m.notModified, int), col((m) => m.cached, int), col((m) => m.apiCount, int), col((m) => m.apiWaves, int)]);
    }
    table(['page', 'drawn ms', 'DOMContentLoaded ms', 'load ms', 'kB', 'requests', '304s', 'from cache', 'API reqs', 'API waves'], rows);

    for (const pg of pages) {
      for (const kind of ['cold', 'warm']) {
        const runs = results.get(`${pg.name}|${kind}`);
        const m = [...runs].sort((a, b) => a.drawn - b.drawn)[Math.floor(runs.length / 2)];
        console.log(`\nRequest timeline, ${pg.name}, ${kind} (the median run; drawn at ${ms(m.drawn)} ms; times from the document request; "wallet" rows are the injected provider's calls, answered by this script from anvil, unthrottled):`);
        table(['request', 'start', 'end', 'bytes', 'status', 'encoding', 'cache', 'API wave', 'started after'], m.timeline.map((r) => [
          `${r.method} ${r.path.length > 60 ? `${r.path.slice(0, 57)}...` : r.path}`, ms(r.startMs), r.endMs == null ? 'open' : ms(r.endMs), r.wallet ? '' : r.bytes ?? '-', r.wallet ? '' : r.status ?? r.failed ?? '-', r.wallet ? '' : r.encoding || '-', r.wallet ? '' : r.cache ?? '-', r.wave ?? '', r.after == null ? '' : r.after.length > 50 ? `${r.after.slice(0, 47)}...` : r.after,
        ]));
      }
    }

    const html = await (await fetch(`${stack.base}/`)).text();
    const scriptPath = html.match(/src="(\/assets\/[^"]+\.js)"/)?.[1] ?? '/';
    console.log('\nWhat the server sends (plain HTTP, unthrottled): body bytes without Accept-Encoding, with "br, gzip" and with "gzip"; ETag; the answer to If-None-Match with that ETag:');
    const hr = await headerReport(stack, id, session.token, scriptPath);
    table(['path', 'identity B', 'br,gzip: enc B', 'gzip: enc B', 'ETag', 'If-None-Match', 'Cache-Control'], hr.map((r) => [r.path, r.identity, r.br, r.gzip, r.etag, r.ifNoneMatch, r.cacheControl]));
    if (errors.length) console.log(`\npage errors: ${[...new Set(errors)].join(' | ')}`);
    await browser.close().catch(() => {});
  } finally {
    // Nothing here may throw before the stack is stopped: a failed cleanup would leave `pactum dev`
    // (and its anvil) running with no parent.
    try {
      if (chrome && chrome.exitCode === null) {
        const gone = new Promise((r) => chrome.once('exit', r));
        chrome.kill('SIGKILL');
        await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
      }
      if (userDataDir) rmSync(userDataDir, { recursive: true, force: true, maxRetries: 3 });
    } catch (e) {
      console.error(`cleanup: ${e.message}`);
    }
    const r = await stack.stop();
    console.log(`\npactum dev stopped (${r.signal ?? `exit ${r.code}`}); ${((Date.now() - t0) / 1000).toFixed(0)} s in all`);
  }
}

main().catch((e) => {
  console.error(e?.stack ?? e);
  process.exit(1);
});
