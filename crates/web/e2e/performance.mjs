// The performance-pay scenario of the browser tests (run by e2e/run.mjs, after the escrow's steps,
// on the primary chain): the brand drafts and signs a per-conversion agreement in the page, the
// partner (the creator's wallet, phone width) checks the brand's signature in the link (an edited
// link is refused) and signs, the brand funds it (approve + createAndFund); the attester (anvil's
// 8th dev account, its own browser) uploads conversion records as CSV; anvil's time is moved past
// period 0, the attester builds, signs and submits its report; the partner checks in the page that
// a conversion was counted (the Merkle proof verified in the browser against the root on chain);
// after the lock (anvil time) the partner releases the period and the page's paid figure is what
// the partner's balance gained on chain. Then the page's Merkle root code (app/merkle.ts) is run
// on OpenZeppelin's own fixture trees, and an auditor (anvil account 4) runs "Verify" on the
// agreement: every check passes against the node; with one record dropped from (or a revenue
// altered in) the API's records the root check fails; with a tier's rate altered in the API's
// terms the agreement-id check fails; either way the verdict is not verified. Then to its end, in
// the page as each role: the attester reports period 1 (2 conversions, 20 pUSD); the brand disputes
// it (the partner is not offered that); the arbiter (anvil account 3) rules 50%: 1 pUSD fee (5%),
// 9.5 to the partner, 9.5 back to the budget, as the balances on chain moved; the brand ends it for
// cause during period 3: period 4 is shown not reportable, and no close is offered while periods 2
// and 3 may still be reported; after their report window (anvil time) the brand closes it: its
// balance grows by exactly the 29.5 pUSD unreserved, the agreement is ended and no role's page
// offers anything; the auditor's Verify still passes, period 1 included.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { encodeFunctionData, erc20Abi } from 'viem';

const web = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');

const DAY = 86_400;

export async function performanceSteps(t) {
  const { step, assert, stack, cfg, rpc, shot, state, signInVia, brand, creator, auditor, arbiter, newParty, ACCOUNTS, CHAIN1 } = t;
  const perf = { id: '', link: '', start: 0, attester: null };
  const chain = cfg.chains.find((c) => c.chainId === CHAIN1);
  const pusd = chain.tokens.find((x) => x.symbol === 'pUSD');
  const balanceOf = async (who) => {
    const r = await rpc(stack.rpcUrl, 'eth_call', [{ to: pusd.address, data: encodeFunctionData({ abi: erc20Abi, functionName: 'balanceOf', args: [who.toLowerCase()] }) }, 'latest']);
    return BigInt(r.result);
  };
  const chainTime = async () => Number(BigInt((await rpc(stack.rpcUrl, 'eth_getBlockByNumber', ['latest', false])).result.timestamp));
  const warpTo = async (unix) => {
    const now = await chainTime();
    if (unix > now) await rpc(stack.rpcUrl, 'evm_increaseTime', [unix - now]);
    await rpc(stack.rpcUrl, 'evm_mine', []);
  };
  // Signed in already after the escrow's steps; signs in when run alone (--only performance).
  const signedIn = async (page) => {
    const button = page.getByRole('button', { name: 'Connect wallet and sign in' });
    const who = page.locator('[data-testid="signed-in-as"]');
    await button.or(who).first().waitFor();
    if (await button.isVisible()) await signInVia(page);
  };
  const text = async (page, testid) => (await page.locator(`[data-testid="${testid}"]`).innerText()).trim();
  const decode = (url) => JSON.parse(Buffer.from(new URL(url).hash.replace('#offer=', ''), 'base64url').toString('utf8'));
  const encode = (o) => Buffer.from(JSON.stringify(o), 'utf8').toString('base64url');

  await step('performance, brand: drafts a per-conversion agreement from the form (two tiers, five 1-day periods), signs it in the wallet and gets the partner’s link', async () => {
    assert(chain.performance, `/v1/config names the performance contract of ${CHAIN1}: ${JSON.stringify(chain)}`);
    const p = brand.page;
    brand.wallet.chain = CHAIN1;
    await p.goto(`${stack.base}/`);
    await signedIn(p);
    await p.getByRole('link', { name: 'Performance', exact: true }).click();
    await p.getByRole('heading', { name: 'Performance agreements' }).waitFor();
    await p.getByRole('link', { name: 'Draft a performance agreement' }).click();
    await p.getByRole('heading', { name: 'New performance agreement' }).waitFor();
    await p.getByLabel('Partner’s address').fill(ACCOUNTS.creator);
    await p.getByLabel('Attester’s address').fill(ACCOUNTS.attester);
    await p.getByLabel('Arbiter’s address (optional)').fill(ACCOUNTS.arbiter);
    await p.getByLabel(/Arbiter’s fee/).fill('5');
    await p.getByLabel('Token', { exact: true }).selectOption(pusd.address);
    await p.getByLabel('Metric').selectOption('conversions');
    const tiers = p.locator('li.milestone');
    await tiers.nth(0).getByLabel('Pay per conversion (token units)').fill('10');
    await p.getByRole('button', { name: 'Add a tier' }).click();
    await tiers.nth(1).getByLabel('From how many units in a period').fill('3');
    await tiers.nth(1).getByLabel('Pay per conversion (token units)').fill('15');
    await p.getByLabel('Period length (days)').fill('1');
    await p.getByLabel('Number of periods').fill('5');
    await p.getByLabel('Report window after each period (days)').fill('2');
    await p.getByLabel('Lock after a report (days)').fill('2');
    await p.getByLabel('Arbiter’s window (days)').fill('1');
    await p.getByLabel('The partner signs and you fund within (days)').fill('1');
    await p.getByLabel('Budget to escrow at funding (token units)').fill('100');
    const unlabelled = await p.evaluate(() => [...document.querySelectorAll('main input, main select, main textarea')].filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')).map((el) => el.outerHTML));
    assert(unlabelled.length === 0, `every control has a label: ${unlabelled.join(' ')}`);
    await shot(p, 'p01-performance-form');
    const signed = brand.wallet.count('eth_signTypedData_v4');
    await p.getByRole('button', { name: 'Sign and get the partner’s link' }).click();
    await p.waitForURL(/\/performance\/sign#offer=/);
    await p.locator('[data-testid="offer-link"]').waitFor();
    assert(brand.wallet.count('eth_signTypedData_v4') === signed + 1, 'the brand signed once');
    assert((await text(p, 'offer-status')).startsWith('Signed by the brand; the partner signs next.'), await text(p, 'offer-status'));
    assert((await text(p, 'rate')) === '10 pUSD per conversion; 15 pUSD per conversion from the 4th of a period', `the rate in words: ${await text(p, 'rate')}`);
    perf.link = await p.locator('[data-testid="offer-link"]').inputValue();
    const offer = decode(perf.link);
    assert(offer.agreement.salt && offer.brandSignature && offer.budget === '100000000' && !offer.partnerSignature, `the link carries the terms, the brand's signature and the budget: ${JSON.stringify(offer)}`);
    assert(offer.agreement.tiers[1].fromUnits === 3 && offer.agreement.tiers[1].rate === '15000000' && offer.agreement.period === DAY, `the terms as typed: ${JSON.stringify(offer.agreement)}`);
    perf.start = Number(offer.agreement.start);
    await shot(p, 'p02-performance-offer-brand');
  });

  await step('performance, partner (phone): a link whose rate was raised on the way is refused before anything is signed; the real one is checked and signed', async () => {
    const p = creator.page;
    creator.wallet.chain = CHAIN1;
    const signed = creator.wallet.count('eth_signTypedData_v4');
    const forged = decode(perf.link);
    forged.agreement.tiers[0].rate = '20000000';
    await p.goto(`${stack.base}/performance/sign#offer=${encode(forged)}`);
    await signedIn(p);
    const refused = p.locator('[data-testid="offer-invalid"]');
    await refused.waitFor();
    assert((await refused.innerText()).includes('not the brand’s signature of these terms'), await refused.innerText());
    assert((await p.getByRole('button', { name: 'Sign these terms with my wallet' }).count()) === 0, 'nothing to sign');
    await p.goto(perf.link);
    await p.locator('[data-testid="offer-status"]').filter({ hasText: 'Signed by the brand; the partner signs next.' }).waitFor();
    await shot(p, 'p03-performance-offer-partner-phone');
    await p.getByRole('button', { name: 'Sign these terms with my wallet' }).click();
    await state(p, 'offer-sign', 'confirmed');
    await p.locator('[data-testid="offer-status"]').filter({ hasText: 'Signed by the brand and the partner' }).waitFor();
    assert(creator.wallet.count('eth_signTypedData_v4') === signed + 1, 'the partner signed once');
    perf.link = await p.locator('[data-testid="offer-link"]').inputValue();
    const offer = decode(perf.link);
    assert(offer.brandSignature && offer.partnerSignature, 'the link back carries both signatures');
  });

  await step('performance, brand: opens the partner’s link and funds 100 pUSD (approve + createAndFund); the agreement page holds what the contract gained', async () => {
    const p = brand.page;
    const sent = brand.wallet.sent.length;
    const before = await balanceOf(chain.performance);
    await p.goto(perf.link);
    await p.locator('[data-testid="offer-status"]').filter({ hasText: 'Signed by the brand and the partner' }).waitFor();
    assert((await p.getByLabel('Budget (token units)').inputValue()) === '100', 'the budget from the link');
    await p.getByRole('button', { name: 'Approve, then fund (two transactions)' }).click();
    await p.waitForURL(/\/performance\/0x[0-9a-f]{64}$/, { timeout: 40_000 });
    perf.id = new URL(p.url()).pathname.split('/').pop();
    await p.locator('[data-testid="perf-budget"]').waitFor();
    assert(brand.wallet.sent.length === sent + 2 && brand.wallet.sent.slice(sent).every((x) => x.chain === CHAIN1), `approve and createAndFund sent on ${CHAIN1}: ${JSON.stringify(brand.wallet.sent.slice(sent))}`);
    assert((await text(p, 'perf-status')) === 'active', await text(p, 'perf-status'));
    assert((await text(p, 'perf-budget')) === '100 pUSD' && (await text(p, 'perf-funded')) === '100 pUSD', `budget ${await text(p, 'perf-budget')}`);
    assert((await balanceOf(chain.performance)) - before === 100_000_000n, 'the contract holds the 100 pUSD');
    assert((await text(p, 'perf-role')) === 'brand', await text(p, 'perf-role'));
    await p.getByRole('link', { name: 'Performance', exact: true }).click();
    const row = p.locator(`[data-testid="performance-list"] tr[data-role="brand"]:has(a[href="/performance/${perf.id}"])`);
    await row.waitFor();
    await row.getByRole('link').click();
    await p.locator('[data-testid="periods"]').waitFor();
    await shot(p, 'p04-performance-agreement-brand');
  });

  await step('performance, attester: signs in, finds the agreement, uploads conversion records as CSV; an e-mail as a conversion id is refused under the field, nothing sent', async () => {
    perf.attester = await newParty('attester', { width: 1280, height: 900 });
    const p = perf.attester.page;
    await p.goto(`${stack.base}/performance`);
    await signInVia(p);
    const row = p.locator(`[data-testid="performance-list"] tr[data-role="attester"]:has(a[href="/performance/${perf.id}"])`);
    await row.waitFor();
    await row.getByRole('link').click();
    await p.getByRole('heading', { name: 'Conversion records' }).waitFor();
    assert((await text(p, 'perf-role')) === 'attester', await text(p, 'perf-role'));
    const csv = p.getByLabel('Records (CSV)');
    await csv.fill(`jane@example.com,${perf.start + 300},10`);
    await p.getByRole('button', { name: 'Upload the records' }).click();
    const err = p.locator('[data-testid="field-error"]');
    await err.waitFor();
    assert((await err.innerText()).includes('pseudonymous'), await err.innerText());
    assert((await p.locator('[data-status="perf-upload"]').count()) === 0, 'nothing was sent');
    const lines = ['conversionId,occurredAt,revenue', ...[1, 2, 3, 4, 5].map((i) => `ord-${i},${perf.start + 600 + i * 60},25`)];
    await csv.fill(lines.join('\n'));
    await p.getByRole('button', { name: 'Upload the records' }).click();
    const out = await state(p, 'perf-upload', 'confirmed');
    assert(out.includes('5 new, 0 already there'), out);
    const notOffered = await text(p, 'not-offered');
    assert(notOffered.includes('No period to report now'), notOffered);
    await shot(p, 'p05-performance-records-attester');
  });

  await step('performance: after period 0 ends (anvil time) the attester builds, signs and submits its report: 5 units, 3 × 10 + 2 × 15 = 60 pUSD locked, 40 left in the budget', async () => {
    const p = perf.attester.page;
    await warpTo(perf.start + DAY + 60);
    await p.reload();
    await p.getByLabel('Period', { exact: true }).first().waitFor();
    const signed = perf.attester.wallet.count('eth_signTypedData_v4');
    await p.getByRole('button', { name: 'Build, sign and submit the report' }).click();
    const out = await state(p, 'perf-report', 'confirmed');
    assert(out.includes('Period 0 reported: 5 units, pay 60 pUSD'), out);
    assert(perf.attester.wallet.count('eth_signTypedData_v4') === signed + 1, 'the attester signed the report');
    await p.locator('[data-testid="period-0-units"]').filter({ hasText: '5' }).waitFor();
    assert((await text(p, 'period-0-pay')) === '60 pUSD', await text(p, 'period-0-pay'));
    assert((await text(p, 'period-0-state')).startsWith('locked until'), await text(p, 'period-0-state'));
    assert((await text(p, 'perf-reserved')) === '60 pUSD' && (await text(p, 'perf-budget')) === '40 pUSD', `reserved ${await text(p, 'perf-reserved')}, budget ${await text(p, 'perf-budget')}`);
    assert((await text(p, 'kpi-units')) === '5 (5)', await text(p, 'kpi-units'));
    await shot(p, 'p06-performance-reported-attester');
  });

  await step('performance, partner (phone): checks in the page that ord-3 was counted (the proof verified in the browser against the root on chain); an unknown id is not proven', async () => {
    const p = creator.page;
    await p.goto(`${stack.base}/performance/${perf.id}`);
    await p.getByLabel('Conversion id').fill('ord-404');
    await p.getByRole('button', { name: 'Check it' }).click();
    const out = p.locator('[data-testid="proof-result"]');
    await p.locator('[data-testid="proof-result"][data-verified="false"]').waitFor();
    assert((await out.innerText()).includes('No such conversion in period 0'), await out.innerText());
    await p.getByLabel('Conversion id').fill('ord-3');
    await p.getByRole('button', { name: 'Check it' }).click();
    await p.locator('[data-testid="proof-result"][data-verified="true"][data-onchain="true"]').waitFor();
    const said = await out.innerText();
    assert(said.startsWith('Counted.') && said.includes('ord-3'), said);
    assert((await out.locator('li[data-status="pass"]').count()) === 3, 'leaf, proof and root on chain all pass');
    const notOffered = await text(p, 'not-offered');
    assert(notOffered.includes('period 0 is locked until'), `no release inside the lock, saying until when: ${notOffered}`);
    assert((await p.getByRole('button', { name: /^Release period 0/ }).count()) === 0, 'no release offered');
    await shot(p, 'p07-performance-proof-partner-phone');
  });

  await step('performance: after the lock (anvil time) the partner releases period 0 from the browser; the page shows 60 pUSD paid to the partner, what its balance gained on chain', async () => {
    const p = creator.page;
    const locked = (await t.apiGet(p, `/v1/performance/agreements/${perf.id}`)).periods[0].lockedUntil;
    await warpTo(Number(locked) + 60);
    const before = await balanceOf(ACCOUNTS.creator);
    await p.reload();
    await p.getByRole('button', { name: 'Release period 0 (60 pUSD)' }).click();
    const out = await state(p, 'perf-release', 'confirmed');
    assert(out.includes('Period 0 released: 60 pUSD to the partner'), out);
    await p.locator('[data-testid="perf-partner-paid"]').filter({ hasText: '60 pUSD' }).waitFor();
    assert((await text(p, 'period-0-state')) === 'paid' && (await text(p, 'period-0-paid')) === '60 pUSD', await text(p, 'period-0-state'));
    assert((await text(p, 'perf-reserved')) === '0 pUSD', await text(p, 'perf-reserved'));
    assert((await balanceOf(ACCOUNTS.creator)) - before === 60_000_000n, 'the partner gained 60 pUSD on chain');
    const [download] = await Promise.all([p.waitForEvent('download'), p.getByRole('button', { name: 'Download the KPIs (CSV)' }).click()]);
    const csv = readFileSync(await download.path(), 'utf8');
    assert(csv.startsWith('agreement_id,period,') && csv.includes(perf.id.slice(2)), `the KPIs as CSV: ${csv.slice(0, 300)}`);
    await shot(p, 'p08-performance-released-partner-phone');
  });

  await step('performance: the page’s Merkle root (app/merkle.ts) is OpenZeppelin’s StandardMerkleTree root and leaves on every fixture tree (crates/core/tests/fixtures/merkle.json)', async () => {
    const src = readFileSync(path.join(web, 'app/merkle.ts'), 'utf8');
    const js = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
    const out = path.join(web, 'e2e/output/merkle.mjs');
    mkdirSync(path.dirname(out), { recursive: true });
    writeFileSync(out, js);
    const m = await import(pathToFileURL(out).href);
    const fx = JSON.parse(readFileSync(path.join(web, '../core/tests/fixtures/merkle.json'), 'utf8'));
    assert(fx.library === '@openzeppelin/merkle-tree' && fx.trees.length >= 10, `the fixtures are OpenZeppelin's: ${fx.library}, ${fx.trees.length} trees`);
    for (const tree of fx.trees) {
      assert(m.merkleRoot(tree.records) === tree.root, `${tree.name}: root ${m.merkleRoot(tree.records)}, OpenZeppelin's ${tree.root}`);
      assert(m.merkleRoot([...tree.records].reverse()) === tree.root, `${tree.name}: the root does not depend on the records' order`);
      for (const r of tree.records) assert(m.leafOf(r) === r.leaf, `${tree.name}: leaf of ${r.conversionId}`);
    }
    const big = fx.trees.find((x) => x.records.length > 2);
    assert(m.merkleRoot(big.records.slice(1)) !== big.root, 'a record fewer gives another root');
    assert(m.merkleRoot([]) === null, 'no records, no tree');
  });

  // The auditor's page, its verdict and checks after pressing Verify.
  const verify = async (p) => {
    const out = p.locator('[data-testid="perf-verify-result"]');
    await p.getByRole('button', { name: 'Verify against the chain' }).click();
    await p.locator('[data-testid="perf-verify-result"][data-outcome]').waitFor({ timeout: 30_000 });
    const checks = Object.fromEntries(await out.locator('li[data-check]').evaluateAll((els) => els.map((el) => [el.dataset.check, { status: el.dataset.status, text: el.textContent }])));
    return { outcome: await out.getAttribute('data-outcome'), verdict: await text(p, 'perf-verify-verdict'), checks };
  };
  const ALL = ['contract', 'agreement-id', 'creation', 'reports', 'period-0-report', 'period-0-root', 'period-0-totals', 'period-0-state'];
  const openAsAuditor = async () => {
    const p = auditor.page;
    await p.goto(`${stack.base}/performance`);
    await signedIn(p);
    await p.getByLabel('Agreement id').fill(perf.id);
    await p.getByRole('button', { name: 'Open', exact: true }).click();
    await p.getByRole('heading', { name: 'Verify', exact: true }).waitFor();
    return p;
  };

  await step('performance, auditor: opens the agreement by id and runs Verify: the id, the creation, the report, the records’ root (recomputed in the browser), their count and revenue and getPeriod all pass against the node, read through the wallet', async () => {
    const p = await openAsAuditor();
    assert((await text(p, 'perf-role')) === 'an auditor', await text(p, 'perf-role'));
    const logsBefore = auditor.wallet.count('eth_getLogs');
    const callsBefore = auditor.wallet.count('eth_call');
    const r = await verify(p);
    const bad = Object.entries(r.checks).filter(([, c]) => c.status !== 'pass');
    assert(r.outcome === 'verified' && bad.length === 0, `verified, every check passing: ${r.verdict} ${JSON.stringify(bad)}`);
    assert(ALL.every((id) => r.checks[id]) && Object.keys(r.checks).length === ALL.length, `exactly the checks ${ALL}: ${Object.keys(r.checks)}`);
    assert(r.verdict.startsWith('Verified'), r.verdict);
    // The evidence is the node's: the root and figures of the ReportAccepted log anvil holds.
    const logs = (await rpc(stack.rpcUrl, 'eth_getLogs', [{ address: chain.performance, topics: [null, perf.id], fromBlock: '0x0', toBlock: 'latest' }])).result;
    const reportView = (await t.apiGet(p, `/v1/performance/agreements/${perf.id}`)).periods[0];
    assert(r.checks['period-0-root'].text.includes(reportView.detailRoot) && r.checks['period-0-root'].text.includes('5 records'), r.checks['period-0-root'].text);
    assert(logs.some((l) => l.data.includes(reportView.detailRoot.slice(2))), 'that root is in a log of the contract on anvil');
    assert(r.checks['period-0-totals'].text.includes('5 records = 5 units') && r.checks['period-0-totals'].text.includes('revenue sum 125000000 = 125000000'), r.checks['period-0-totals'].text);
    assert(r.checks['period-0-state'].text.includes('pay 60000000') && r.checks['period-0-state'].text.includes('version 1'), r.checks['period-0-state'].text);
    assert(r.checks.contract.text.includes('/v1/config'), `how the contract is trusted is said: ${r.checks.contract.text}`);
    assert(auditor.wallet.count('eth_getLogs') > logsBefore && auditor.wallet.count('eth_call') >= callsBefore + 2, 'the logs and the contract were read through the auditor’s wallet’s node');
    await shot(p, 'p09-performance-verified-auditor');
  });

  await step('performance, auditor: a record dropped from (then a revenue altered in) the API’s records: the root check fails, the verdict is not verified', async () => {
    const p = auditor.page;
    const recordsPath = new RegExp(`/v1/performance/agreements/${perf.id}/periods/0/records\\?`);
    let mode = 'drop';
    let hits = 0;
    const handler = async (route) => {
      const response = await route.fetch();
      const json = await response.json();
      hits += 1;
      if (mode === 'drop') json.records.splice(2, 1);
      else json.records[0].revenue = String(BigInt(json.records[0].revenue) + 1n);
      await route.fulfill({ response, json });
    };
    await p.route(recordsPath, handler);
    try {
      let r = await verify(p);
      assert(hits > 0, 'the records came through the tampering route');
      assert(r.outcome === 'not-verified' && r.verdict.startsWith('NOT verified'), `${r.outcome}: ${r.verdict}`);
      assert(r.checks['period-0-root'].status === 'fail' && r.checks['period-0-root'].text.includes('4 records'), JSON.stringify(r.checks['period-0-root']));
      assert(r.checks['period-0-totals'].status === 'fail' && r.checks['period-0-totals'].text.includes('4 records ≠ 5 units'), JSON.stringify(r.checks['period-0-totals']));
      assert(['contract', 'agreement-id', 'creation', 'reports', 'period-0-report', 'period-0-state'].every((id) => r.checks[id].status === 'pass'), `the rest still pass: ${JSON.stringify(r.checks)}`);
      await shot(p, 'p10-performance-records-tampered-auditor');
      mode = 'revenue';
      r = await verify(p);
      assert(r.outcome === 'not-verified', `${r.outcome}: ${r.verdict}`);
      assert(r.checks['period-0-root'].status === 'fail' && r.checks['period-0-root'].text.includes('5 records'), JSON.stringify(r.checks['period-0-root']));
      assert(r.checks['period-0-totals'].status === 'fail' && r.checks['period-0-totals'].text.includes('revenue sum 125000001 ≠ 125000000'), JSON.stringify(r.checks['period-0-totals']));
    } finally {
      await p.unroute(recordsPath, handler);
    }
  });

  await step('performance, auditor: the API’s terms with a tier’s rate altered: the contract’s hashAgreement of them is not the id, the id check fails, the verdict is not verified', async () => {
    const p = auditor.page;
    const viewPath = (url) => url.pathname === `/v1/performance/agreements/${perf.id}`;
    let hits = 0;
    const handler = async (route) => {
      const response = await route.fetch();
      const json = await response.json();
      hits += 1;
      json.agreement.tiers[0].rate = '11000000';
      await route.fulfill({ response, json });
    };
    await p.route(viewPath, handler);
    try {
      await p.reload();
      await p.getByRole('heading', { name: 'Verify', exact: true }).waitFor();
      assert((await text(p, 'rate')).startsWith('11 pUSD per conversion'), `the page shows the altered terms: ${await text(p, 'rate')}`);
      const r = await verify(p);
      assert(hits >= 2, 'the terms came through the tampering route');
      assert(r.outcome === 'not-verified' && r.verdict.includes('The agreement id is the terms’ hash'), `${r.outcome}: ${r.verdict}`);
      assert(r.checks['agreement-id'].status === 'fail' && r.checks['agreement-id'].text.includes(`not the id ${perf.id}`), JSON.stringify(r.checks['agreement-id']));
      assert(r.checks['period-0-root'].status === 'pass', 'the records are still the root’s');
      await shot(p, 'p11-performance-terms-tampered-auditor');
    } finally {
      await p.unroute(viewPath, handler);
    }
  });

  // The "What you can do" section of a page, and its buttons.
  const actions = (p) => p.locator('section:has(> h2#pact-h)');
  const card = (p, heading) => p.locator('section.card', { has: p.getByRole('heading', { name: heading, exact: true }) });
  const openAgreement = async (p) => {
    await p.goto(`${stack.base}/performance/${perf.id}`);
    await signedIn(p);
    await p.locator('[data-testid="periods"]').waitFor();
  };

  await step('performance, attester: uploads period 1’s records (2 conversions); with period 1 over (anvil time) it builds, signs and submits its report: 20 pUSD locked, 20 left in the budget', async () => {
    const p = perf.attester.page;
    await openAgreement(p);
    const t1 = perf.start + DAY + 120;
    await p.getByLabel('Records (CSV)').fill(['conversionId,occurredAt,revenue', `ord-7,${t1},30`, `ord-8,${t1 + 60},30`].join('\n'));
    await p.getByRole('button', { name: 'Upload the records' }).click();
    const up = await state(p, 'perf-upload', 'confirmed');
    assert(up.includes('2 new, 0 already there'), up);
    assert((await chainTime()) >= perf.start + 2 * DAY, 'period 1 is over on chain');
    const pick = p.locator('select[name="reportPeriod"]');
    const offered = await pick.locator('option').allInnerTexts();
    assert(offered.includes('Period 1: first report') && !offered.some((o) => o.startsWith('Period 0')), `period 1 is offered, period 0 (paid) is not: ${offered}`);
    await pick.selectOption('1');
    await p.getByRole('button', { name: 'Build, sign and submit the report' }).click();
    const out = await state(p, 'perf-report', 'confirmed');
    assert(out.includes('Period 1 reported: 2 units, pay 20 pUSD'), out);
    await p.locator('[data-testid="period-1-units"]').filter({ hasText: '2' }).waitFor();
    assert((await text(p, 'period-1-pay')) === '20 pUSD', await text(p, 'period-1-pay'));
    assert((await text(p, 'period-1-state')).startsWith('locked until'), await text(p, 'period-1-state'));
    assert((await text(p, 'perf-reserved')) === '20 pUSD' && (await text(p, 'perf-budget')) === '20 pUSD', `reserved ${await text(p, 'perf-reserved')}, budget ${await text(p, 'perf-budget')}`);
    await shot(p, 'p12-performance-period1-reported-attester');
  });

  await step('performance: the partner is not offered a dispute of period 1 (the page says only the brand may); the brand disputes it in the page: the period shows disputed', async () => {
    const pp = creator.page;
    await openAgreement(pp);
    await pp.locator('[data-testid="period-1-state"]').filter({ hasText: 'locked until' }).waitFor();
    assert((await pp.getByRole('button', { name: 'Dispute this period' }).count()) === 0, 'no dispute for the partner');
    const said = await text(pp, 'not-offered');
    assert(said.includes('only the brand may dispute a report'), said);
    const p = brand.page;
    await openAgreement(p);
    const dispute = card(p, 'Dispute a report');
    assert((await dispute.locator('select[name="disputePeriod"] option').allInnerTexts()).every((o) => o.startsWith('Period 1 (20 pUSD')), 'period 1 is the one to dispute');
    await dispute.locator('select[name="disputePeriod"]').selectOption('1');
    await dispute.getByLabel('Why').fill('bot traffic');
    const sent = brand.wallet.sent.length;
    await dispute.getByRole('button', { name: 'Dispute this period' }).click();
    const out = await state(p, 'perf-dispute', 'confirmed');
    assert(out.includes('Period 1 disputed'), out);
    assert(brand.wallet.sent.length === sent + 1, 'one transaction, by the brand');
    await p.locator('[data-testid="period-1-state"]').filter({ hasText: 'disputed' }).waitFor();
    assert((await p.getByRole('button', { name: 'Dispute this period' }).count()) === 0, 'nothing left to dispute');
    assert((await text(p, 'perf-reserved')) === '20 pUSD', await text(p, 'perf-reserved'));
    await shot(p, 'p13-performance-disputed-brand');
  });

  await step('performance, arbiter (phone): opens it by id and rules 50% on period 1: resolved; 1 pUSD fee (5% of 20), 9.5 to the partner, 9.5 back to the budget, as the balances moved on chain', async () => {
    const p = arbiter.page;
    arbiter.wallet.chain = CHAIN1;
    await p.goto(`${stack.base}/performance`);
    await signedIn(p);
    await p.getByLabel('Agreement id').fill(perf.id);
    await p.getByRole('button', { name: 'Open', exact: true }).click();
    await p.locator('[data-testid="periods"]').waitFor();
    assert((await text(p, 'perf-role')) === 'arbiter', await text(p, 'perf-role'));
    const partnerBefore = await balanceOf(ACCOUNTS.creator);
    const arbiterBefore = await balanceOf(ACCOUNTS.arbiter);
    const rule = card(p, 'Rule on a dispute');
    await rule.locator('select[name="resolvePeriod"]').selectOption('1');
    await rule.getByLabel('Partner’s share after your fee (%)').fill('50');
    await rule.getByRole('button', { name: 'Rule' }).click();
    const out = await state(p, 'perf-resolve', 'confirmed');
    assert(out.includes('Period 1 resolved: 50% to the partner after your fee'), out);
    await p.locator('[data-testid="period-1-state"]').filter({ hasText: 'resolved by the arbiter' }).waitFor();
    assert((await text(p, 'period-1-paid')) === '9.5 pUSD', `period 1 paid the partner ${await text(p, 'period-1-paid')}`);
    assert((await text(p, 'perf-arbiter-paid')) === '1 pUSD', `the arbiter's fee ${await text(p, 'perf-arbiter-paid')}`);
    assert((await text(p, 'perf-partner-paid')) === '69.5 pUSD', await text(p, 'perf-partner-paid'));
    assert((await text(p, 'perf-reserved')) === '0 pUSD' && (await text(p, 'perf-budget')) === '29.5 pUSD', `reserved ${await text(p, 'perf-reserved')}, budget ${await text(p, 'perf-budget')}`);
    assert((await balanceOf(ACCOUNTS.creator)) - partnerBefore === 9_500_000n, 'the partner gained 9.5 pUSD on chain');
    assert((await balanceOf(ACCOUNTS.arbiter)) - arbiterBefore === 1_000_000n, 'the arbiter gained its 1 pUSD fee on chain');
    assert((await text(p, 'not-offered')).includes('No dispute waits for your ruling'), await text(p, 'not-offered'));
    await shot(p, 'p14-performance-resolved-arbiter-phone');
  });

  await step('performance, brand: ends it for cause during period 3 in the page: period 4 is shown not reportable, the page says why no close yet; the attester is offered periods 2 and 3 only', async () => {
    const p = brand.page;
    await openAgreement(p);
    const now = await chainTime();
    assert(now >= perf.start + 3 * DAY && now < perf.start + 4 * DAY, `anvil's time is in period 3: ${now - perf.start}s after the start`);
    const end = card(p, 'End it for cause');
    await end.getByLabel('Why').fill('brand safety');
    await end.getByRole('button', { name: 'End the agreement for cause' }).click();
    const out = await state(p, 'perf-terminate', 'confirmed');
    assert(out.includes('Ended for cause'), out);
    await p.locator('[data-testid="perf-status"]').filter({ hasText: 'ended for cause by the brand' }).waitFor();
    assert((await text(p, 'perf-status')).startsWith('active'), await text(p, 'perf-status'));
    const p4 = await text(p, 'period-4-state');
    assert(p4.startsWith('not reportable') && p4.includes('ended the agreement for cause'), `period 4: ${p4}`);
    assert(!(await text(p, 'period-3-state')).startsWith('not reportable'), 'period 3 started before: still reportable');
    const said = await text(p, 'not-offered');
    assert(said.includes('Period 4 starts after the brand ended the agreement for cause'), said);
    assert(said.includes('No close yet: periods 2, 3 may still be reported'), said);
    for (const name of ['End the agreement for cause', 'Add to the budget', /^Close/]) assert((await p.getByRole('button', { name }).count()) === 0, `${name} is no longer offered`);
    const view = await t.apiGet(p, `/v1/performance/agreements/${perf.id}`);
    assert(view.terminatedBy === 'brand' && view.terminatedAt > 0, `terminated on chain, as indexed: ${view.terminatedBy} ${view.terminatedAt}`);
    await shot(p, 'p15-performance-terminated-brand');
    const a = perf.attester.page;
    await openAgreement(a);
    const offered = await a.locator('select[name="reportPeriod"] option').allInnerTexts();
    assert(offered.join('|') === 'Period 2: first report|Period 3: first report', `the attester may report periods 2 and 3 (cut short), not 4: ${offered}`);
  });

  await step('performance: after the last report window (anvil time) the brand closes it in the page: its balance grows by exactly the 29.5 pUSD unreserved; the agreement is ended and no page offers anything', async () => {
    const p = brand.page;
    await warpTo(perf.start + 6 * DAY + 60);
    await p.reload();
    await p.locator('[data-testid="periods"]').waitFor();
    assert((await text(p, 'period-2-state')) === 'no report came in time', await text(p, 'period-2-state'));
    const before = await balanceOf(ACCOUNTS.brand);
    const contractBefore = await balanceOf(chain.performance);
    await p.getByRole('button', { name: 'Close: return the unreserved budget to the brand' }).click();
    const out = await state(p, 'perf-close', 'confirmed');
    assert(out.includes('Closed: the unreserved budget went back to the brand'), out);
    await p.locator('[data-testid="perf-over"]').waitFor();
    assert((await balanceOf(ACCOUNTS.brand)) - before === 29_500_000n, 'the brand gained exactly the 29.5 pUSD unreserved');
    assert(contractBefore - (await balanceOf(chain.performance)) === 29_500_000n, 'the contract paid out exactly that');
    assert((await text(p, 'perf-status')).startsWith('ended (ended for cause by the brand'), await text(p, 'perf-status'));
    assert((await text(p, 'perf-budget')) === '0 pUSD' && (await text(p, 'perf-reserved')) === '0 pUSD' && (await text(p, 'perf-returned')) === '29.5 pUSD', `budget ${await text(p, 'perf-budget')}, returned ${await text(p, 'perf-returned')}`);
    assert((await text(p, 'period-2-state')).startsWith('no report') && (await text(p, 'period-4-state')).startsWith('not reportable'), `${await text(p, 'period-2-state')} / ${await text(p, 'period-4-state')}`);
    assert((await actions(p).locator('button').count()) === 0, 'the brand is offered nothing');
    await shot(p, 'p16-performance-ended-brand');
    for (const [who, page] of [['partner', creator.page], ['attester', perf.attester.page], ['arbiter', arbiter.page]]) {
      await openAgreement(page);
      await page.locator('[data-testid="perf-over"]').waitFor();
      assert((await text(page, 'perf-status')).startsWith('ended'), `${who}: ${await text(page, 'perf-status')}`);
      const left = await actions(page).locator('button, textarea, input, select').count();
      assert(left === 0, `the ${who} is offered nothing: ${left} controls`);
    }
    await shot(perf.attester.page, 'p17-performance-ended-attester');
  });

  await step('performance, auditor: Verify on the ended agreement passes against the node, period 1’s report, records and disputed state included', async () => {
    const p = await openAsAuditor();
    const r = await verify(p);
    const bad = Object.entries(r.checks).filter(([, c]) => c.status !== 'pass');
    assert(r.outcome === 'verified' && bad.length === 0, `verified: ${r.verdict} ${JSON.stringify(bad)}`);
    const want = [...ALL, 'period-1-report', 'period-1-root', 'period-1-totals', 'period-1-state'];
    assert(want.every((id) => r.checks[id]) && Object.keys(r.checks).length === want.length, `exactly the checks ${want}: ${Object.keys(r.checks)}`);
    assert(r.checks['period-1-totals'].text.includes('2 records = 2 units'), r.checks['period-1-totals'].text);
  });
}
