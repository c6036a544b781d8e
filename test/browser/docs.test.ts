import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '../support/context.ts';

// The API docs page (Swagger UI from @fastify/swagger-ui) in a real browser: it must render our
// OpenAPI document, and every asset it loads from our server must load.

const SCREENSHOT = process.env.DOCS_SCREENSHOT ?? path.join(os.tmpdir(), 'docs.png');

function chromiumPath(): string {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  try {
    return execFileSync('which', ['chromium'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('chromium is not installed (apt-get install chromium; .ci/run does it), or set CHROMIUM_PATH');
  }
}

let ctx: TestContext;
let baseUrl: string;
let userDataDir: string;
let browser: BrowserContext;
let page: Page;
const failures: string[] = [];

beforeAll(async () => {
  ctx = await createTestContext();
  baseUrl = await ctx.app.listen({ host: '127.0.0.1', port: 0 });
  userDataDir = await mkdtemp(path.join(os.tmpdir(), 'loopwise-chromium-'));
  // launchPersistentContext owns --user-data-dir (and --headless with headless: true).
  browser = await chromium.launchPersistentContext(userDataDir, {
    executablePath: chromiumPath(),
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  page = browser.pages()[0] ?? (await browser.newPage());
  const ours = (url: string) => url.startsWith(baseUrl);
  page.on('requestfailed', (request) => {
    if (ours(request.url())) failures.push(`${request.method()} ${request.url()}: ${request.failure()?.errorText ?? 'failed'}`);
  });
  page.on('response', (response) => {
    if (ours(response.url()) && response.status() >= 400) failures.push(`${response.request().method()} ${response.url()}: ${response.status()}`);
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (userDataDir) await rm(userDataDir, { recursive: true, force: true });
  await ctx?.close();
});

describe('API docs page', () => {
  it('renders the Loopwise API document with its operations, loading everything from our server', async () => {
    const response = await page.goto(`${baseUrl}/docs`, { waitUntil: 'networkidle' });
    expect(response?.ok()).toBe(true);

    await expect.poll(() => page.locator('.information-container .title').first().textContent(), { timeout: 20_000 }).toContain('Loopwise API');

    // With deepLinking, Swagger UI gives each operation the id operations-<tag>-<operationId>.
    // Tags start collapsed (docExpansion 'none': expanding 120+ operations at once stalls the page).
    const tickets = page.locator('#operations-tag-tickets');
    await tickets.waitFor({ timeout: 90_000 });
    const createTicket = page.locator('#operations-tickets-createTicket');
    if (!(await createTicket.isVisible())) await tickets.click();
    await createTicket.waitFor({ state: 'visible' });
    await page.locator('#operations-tickets-pullTicket').waitFor({ state: 'visible' });
    await expect.poll(() => createTicket.textContent()).toContain('/v1/tickets');
    const postMessage = page.locator('#operations-messages-postMessage');
    if (!(await postMessage.isVisible())) await page.locator('#operations-tag-messages').click();
    await postMessage.waitFor({ state: 'visible' });

    // Opening an operation renders its schema from the document.
    await createTicket.locator('.opblock-summary').first().click();
    await createTicket.locator('.opblock-body').waitFor({ state: 'visible' });

    await page.waitForLoadState('networkidle');
    await page.locator('.information-container').first().scrollIntoViewIfNeeded();
    await page.screenshot({ path: SCREENSHOT });
    expect(failures).toEqual([]);
  }, 150_000);
});
