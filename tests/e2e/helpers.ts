import { test as base, expect, type Browser, type BrowserContext, type Page, type TestInfo } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateHOTP, generateTOTP } from '@oslojs/otp';
import { decodeBase32IgnorePadding } from '@oslojs/encoding';
import { e2eSharedDir } from './shared-dir';

export const PASSWORD = 'Demo-Microstructures-2026';
export const email = (login: string) => `${login}@demo.microstructures.fr`;

export async function signIn(page: Page, login: string, password = PASSWORD) {
	await page.goto('/login');
	await page.getByLabel('Adresse e-mail').fill(email(login));
	await page.getByLabel('Mot de passe').fill(password);
	await submit(page, 'Se connecter');
}

/** Clicks a submit button and waits for the form action's answer. */
export async function submit(page: Page, name: string) {
	await Promise.all([
		page.waitForResponse((r) => r.request().method() === 'POST'),
		page.getByRole('button', { name, exact: true }).click()
	]);
}

/**
 * Inès (GP at the Cabinet des Tanneurs) includes a patient named `last`, puts Camille (psychologist)
 * in the care team and opens the PPS, saved; returns its path.
 */
export async function ppsWithCamille(ines: Page, last: string): Promise<string> {
	await ines.getByRole('main').getByRole('link', { name: /Cabinet des Tanneurs/ }).click();
	await ines.getByRole('link', { name: 'Inclure un patient' }).first().click();
	await ines.getByRole('textbox', { name: 'Nom', exact: true }).fill(last);
	await ines.getByRole('textbox', { name: 'Prénom' }).fill('Anne');
	await ines.getByLabel('Date de naissance').fill('1975-05-05');
	await ines.getByRole('radio', { name: 'Addiction' }).check();
	await ines.getByRole('radio', { name: 'Les deux' }).check();
	await ines.getByRole('radio', { name: /Consentement oral attesté/ }).check();
	await ines.getByRole('button', { name: 'Inclure le patient' }).click();
	await expect(ines.getByRole('heading', { name: 'Patient inclus — et maintenant ?' })).toBeVisible();
	await ines.getByRole('checkbox', { name: /Camille Durand/ }).check();
	await submit(ines, "Enregistrer l'équipe");
	await expect(ines.getByRole('status')).toHaveText('Dossier enregistré.');
	await ines.getByRole('link', { name: 'Ouvrir le PPS' }).click();
	await expect(ines.getByRole('heading', { level: 1, name: 'Plan personnalisé de santé' })).toBeVisible();
	await expect(ines.getByTestId('pps-status')).toHaveText('Enregistré');
	return new URL(ines.url()).pathname;
}

/** Signs in and waits for the home page. */
export async function signInHome(page: Page, login: string) {
	await signIn(page, login);
	await expect(page.getByRole('heading', { level: 1, name: /^Bonjour/ })).toBeVisible();
}

export async function newUserPage(browser: Browser, login: string, options: { viewport?: { width: number; height: number } } = {}) {
	const context = await browser.newContext({ viewport: options.viewport });
	const page = await context.newPage();
	await signInHome(page, login);
	return page;
}

// What the test workers share with the server launcher and with each other (start-server.ts):
// the mails the in-process SMTP server received, and the TOTP secrets of enrolled demo people.
const SHARED = e2eSharedDir(process.env.E2E_PORT ?? '4173');
const MAIL_DIR = join(SHARED, 'mail');
const TOTP_DIR = join(SHARED, 'totp');

interface ReceivedMail {
	to: string[];
	subject: string;
	text: string;
	at: number;
}

/** The first mail to `to` that the SMTP server received at or after `since` (ms). */
export async function waitForMail(to: string, since: number, timeoutMs = 15_000): Promise<ReceivedMail> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const mails = readdirSync(MAIL_DIR)
			.filter((f) => f.endsWith('.json'))
			.sort()
			.map((f) => JSON.parse(readFileSync(join(MAIL_DIR, f), 'utf8')) as ReceivedMail);
		const mail = mails.find((m) => m.at >= since && m.to.includes(to.toLowerCase()));
		if (mail) return mail;
		if (Date.now() > deadline) throw new Error(`no mail to ${to} since ${new Date(since).toISOString()}`);
		await new Promise((r) => setTimeout(r, 100));
	}
}

export async function mailedCode(to: string, since: number): Promise<string> {
	const mail = await waitForMail(to, since);
	const match = /\b(\d{6})\b/.exec(mail.text);
	if (!match) throw new Error(`no code in the mail to ${to}`);
	return match[1];
}

/** The invitation link in the mail to `to`. */
export async function mailedInvitation(to: string, since: number): Promise<string> {
	const mail = await waitForMail(to, since);
	const match = /https?:\/\/\S+\/invitation\/[a-z2-7]{32}/.exec(mail.text);
	if (!match) throw new Error(`no invitation link in the mail to ${to}`);
	return match[0];
}

/** Runs `fn` alone among the test workers for this name (a directory is the lock). */
async function exclusive<T>(name: string, fn: () => Promise<T>): Promise<T> {
	const lock = join(TOTP_DIR, `${name}.lock`);
	const deadline = Date.now() + 60_000;
	for (;;) {
		try {
			mkdirSync(lock);
			break;
		} catch {
			if (Date.now() > deadline) throw new Error(`lock ${name} held too long`);
			await new Promise((r) => setTimeout(r, 50));
		}
	}
	try {
		return await fn();
	} finally {
		rmSync(lock, { recursive: true, force: true });
	}
}

/** The current code of an authenticator (the server may refuse it if this step was already used). */
export function totpFor(secret: string): string {
	return generateTOTP(decodeBase32IgnorePadding(secret), 30, 6);
}

/**
 * A code from the person's authenticator that the server will accept: the server takes each time
 * step once, so this picks a step later than any this secret was used for (by any worker), the
 * current or the next one, waiting for the clock when both are spent.
 */
export async function acceptedTotp(secret: string): Promise<string> {
	const id = createHash('sha256').update(secret).digest('hex').slice(0, 16);
	return exclusive(id, async () => {
		const file = join(TOTP_DIR, `${id}.step`);
		let last = -1n;
		try {
			last = BigInt(readFileSync(file, 'utf8'));
		} catch {
			// never used
		}
		const now = () => BigInt(Math.floor(Date.now() / 30_000));
		const step = last + 1n > now() ? last + 1n : now();
		while (step > now() + 1n) await new Promise((r) => setTimeout(r, 500));
		writeFileSync(file, String(step));
		return generateHOTP(decodeBase32IgnorePadding(secret), step, 6);
	});
}

function rememberSecret(login: string, secret: string) {
	writeFileSync(join(TOTP_DIR, `${login}.secret`), secret);
}

function knownSecret(login: string): string | null {
	try {
		return readFileSync(join(TOTP_DIR, `${login}.secret`), 'utf8');
	} catch {
		return null;
	}
}

/**
 * Completes the forced 2FA enrolment after the password step: the e-mail code first (read from the
 * SMTP server), then the authenticator. Returns the secret so the test can produce later codes, as
 * the person's authenticator app would.
 */
export async function enrolTwoFactor(page: Page, login: string): Promise<string> {
	await expect(page.getByRole('heading', { name: 'Activer la vérification en deux étapes' })).toBeVisible();
	await expect(page.getByRole('heading', { name: 'Étape 1 sur 2 : confirmez votre adresse e-mail' })).toBeVisible();
	const since = Date.now();
	await submit(page, 'Recevoir un code par e-mail');
	await expect(page.getByRole('status')).toContainText('Un code à 6 chiffres a été envoyé');
	await page.getByLabel('Code reçu par e-mail').fill(await mailedCode(email(login), since));
	await page.getByRole('button', { name: 'Confirmer mon adresse' }).click();
	await expect(page.getByRole('heading', { name: "Étape 2 sur 2 : votre application d'authentification" })).toBeVisible();
	const secret = (await page.getByTestId('totp-secret').textContent())!.trim();
	await page.getByLabel('Code à 6 chiffres').fill(await acceptedTotp(secret));
	await page.getByRole('button', { name: 'Activer' }).click();
	await expect(page.getByTestId('recovery-codes').getByRole('listitem')).toHaveCount(8);
	rememberSecret(login, secret);
	await page.getByRole('link', { name: "J'ai noté mes codes, continuer" }).click();
	await expect(page.getByRole('heading', { level: 1, name: /^Bonjour/ })).toBeVisible();
	return secret;
}

/**
 * Signs a coordinator in: enrols 2FA on first use, or, when another test already enrolled this
 * demo person, answers with a code from the same authenticator.
 */
export async function signInCoordinator(page: Page, login: string): Promise<string> {
	return exclusive(`signin-${login}`, async () => {
		await signIn(page, login);
		await expect(page).toHaveURL(/\/2fa(\/setup)?$/);
		if (new URL(page.url()).pathname === '/2fa/setup') return enrolTwoFactor(page, login);
		const secret = knownSecret(login);
		if (!secret) throw new Error(`${login} is enrolled but no test recorded the secret`);
		await page.getByLabel('Code à 6 chiffres').fill(await acceptedTotp(secret));
		await submit(page, 'Vérifier');
		await expect(page.getByRole('heading', { level: 1, name: /^Bonjour/ })).toBeVisible();
		return secret;
	});
}

/** Accessible (axe, WCAG 2.1 AA) and, on a phone, no sideways scrolling and one <main>. */
export async function expectAxeClean(page: Page) {
	const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
	const summary = results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
	expect(summary).toEqual([]);
	// The phone check brings its own time: a slow machine must not fail the test it is part of.
	base.info().setTimeout(base.info().timeout + 10_000);
	await expectPhoneLayout(page);
}

// ---------------------------------------------------------------------------------------------
// Phones: no page may scroll sideways at 360 or 390 px, and each has one <main> (the layout's).
// Checked where a test calls expectAxeClean (the page as the test left it), and after every test
// over each page the test visited (the `test` exported below: spec files import it from here).
// ---------------------------------------------------------------------------------------------

export const PHONE_WIDTHS = [360, 390];

interface Layout {
	clientWidth: number;
	scrollWidth: number;
	mains: number;
	html: boolean;
	/** The outermost elements reaching past the right edge (not inside a scrolling box). */
	offenders: string[];
}

/** The page's layout at its current size, once the browser has laid it out again. */
function measureLayout(page: Page): Promise<Layout> {
	return page.evaluate(
		() =>
			new Promise<Layout>((resolve) =>
				requestAnimationFrame(() =>
					requestAnimationFrame(() => {
						const root = document.scrollingElement ?? document.documentElement;
						const clientWidth = root.clientWidth;
						const scrollWidth = root.scrollWidth;
						const clipped = (e: Element) => {
							for (let a = e.parentElement; a && a !== document.body && a !== document.documentElement; a = a.parentElement) {
								if (getComputedStyle(a).overflowX !== 'visible') return true;
							}
							return false;
						};
						const over = new Set<Element>();
						if (scrollWidth > clientWidth) {
							for (const e of document.body.querySelectorAll('*')) {
								const r = e.getBoundingClientRect();
								if (r.width > 0 && r.right > clientWidth + 1 && !clipped(e)) over.add(e);
							}
						}
						const describe = (e: Element) => {
							const cls = [...e.classList].slice(0, 3).map((c) => `.${c}`).join('');
							const text = (e.textContent ?? '').trim().replace(/\s+/g, ' ').slice(0, 40);
							return `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ''}${cls} (right ${Math.round(e.getBoundingClientRect().right)}px) "${text}"`;
						};
						const offenders = [...over].filter((e) => !e.parentElement || !over.has(e.parentElement)).slice(0, 6).map(describe);
						resolve({ clientWidth, scrollWidth, mains: document.querySelectorAll('main, [role="main"]').length, html: document.contentType === 'text/html', offenders });
					})
				)
			)
	);
}

/** What is wrong with the page's layout at 360 and 390 px (its own size is given back after). */
async function phoneLayoutProblems(page: Page, label: string): Promise<string[]> {
	const original = page.viewportSize();
	const problems: string[] = [];
	try {
		for (const width of PHONE_WIDTHS) {
			await page.setViewportSize({ width, height: 800 });
			const layout = await measureLayout(page);
			if (!layout.html) return [];
			if (layout.scrollWidth > layout.clientWidth) {
				problems.push(`${label} at ${width} px scrolls sideways (${layout.scrollWidth} > ${layout.clientWidth}): ${layout.offenders.join('; ')}`);
			}
			if (layout.mains !== 1 && width === PHONE_WIDTHS[0]) problems.push(`${label} has ${layout.mains} <main> landmarks, not 1`);
		}
	} finally {
		if (original) await page.setViewportSize(original);
	}
	return problems;
}

/** No sideways scrolling at 360 and 390 px, and one <main>, for the page as it is now. */
export async function expectPhoneLayout(page: Page) {
	expect(await phoneLayoutProblems(page, new URL(page.url()).pathname)).toEqual([]);
}

/** A page's kind: ids, numbers and tokens in its path do not make another page. */
function pageKind(url: string): string | null {
	const u = new URL(url);
	if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
	// Documents, not pages.
	if (/\/(pdf|export|fhir)(\/|$)|^\/healthz/.test(u.pathname)) return null;
	return u.pathname
		.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, ':id')
		.replace(/\/invitation\/[^/]+/, '/invitation/:token')
		.replace(/\/\d+(?=\/|$)/g, '/:n');
}

/** Claims a page kind for this run (once across the test workers: a directory is the claim). */
function firstToCheck(kind: string): boolean {
	const dir = join(SHARED, 'phone-layout');
	mkdirSync(dir, { recursive: true });
	try {
		const claim = join(dir, createHash('sha256').update(kind).digest('hex').slice(0, 24));
		mkdirSync(claim);
		writeFileSync(join(claim, 'kind'), kind);
		return true;
	} catch {
		return false;
	}
}

interface Visits {
	urls: Set<string>;
	/** Cookies as of the last visit, to look again once the test has closed the context. */
	state?: Awaited<ReturnType<BrowserContext['storageState']>>;
	/**
	 * The storageState() calls still running: Playwright reads local storage through a page of its
	 * own, and a page opened in the context meanwhile was seen closed under us ("Target page,
	 * context or browser has been closed").
	 */
	saving?: Promise<unknown>;
	closed: boolean;
}

function trackContext(visits: Map<BrowserContext, Visits>, context: BrowserContext) {
	if (visits.has(context)) return;
	const v: Visits = { urls: new Set(), closed: false };
	visits.set(context, v);
	const trackPage = (page: Page) =>
		page.on('framenavigated', (frame) => {
			if (frame !== page.mainFrame()) return;
			v.urls.add(frame.url());
			v.saving = Promise.all([v.saving, context.storageState().then((s) => (v.state = s), () => {})]);
		});
	context.pages().forEach(trackPage);
	context.on('page', trackPage);
	context.on('close', () => (v.closed = true));
}

/**
 * Opens each page kind the test visited (first time in this run) in a new tab of the context that
 * visited it, live connections cut (a look must not count as presence in an RCP), and checks it
 * at 360 and 390 px.
 */
async function checkVisitedPages(browser: Browser, visits: Map<BrowserContext, Visits>, testInfo: TestInfo): Promise<string[]> {
	const problems: string[] = [];
	for (const [context, v] of visits) {
		const todo = [...v.urls].map((url) => ({ url, kind: pageKind(url) })).filter((x): x is { url: string; kind: string } => x.kind !== null && firstToCheck(x.kind));
		if (todo.length === 0) continue;
		testInfo.setTimeout(testInfo.timeout + todo.length * 15_000);
		await v.saving;
		const own = v.closed ? await browser.newContext({ storageState: v.state }) : null;
		const page = await (own ?? context).newPage();
		try {
			await page.routeWebSocket(/\/(socket\.io|yjs)\//, (ws) => ws.close());
			await page.route(/\/socket\.io\//, (route) => route.abort());
			for (const { url, kind } of todo) {
				const response = await page.goto(url, { waitUntil: 'load' }).catch(() => null);
				if (!response) continue;
				problems.push(...(await phoneLayoutProblems(page, `${kind} (visited as ${new URL(url).pathname}, shown ${new URL(page.url()).pathname})`)));
			}
		} finally {
			await page.close();
			await own?.close();
		}
	}
	return problems;
}

/** Playwright's test, checking after each test every page it visited at phone widths. */
export const test = base.extend<{ phoneLayout: void }>({
	phoneLayout: [
		async ({ browser, context }, use, testInfo) => {
			const visits = new Map<BrowserContext, Visits>();
			trackContext(visits, context);
			const newContext = browser.newContext;
			browser.newContext = async (...args: Parameters<Browser['newContext']>) => {
				const created = await newContext.apply(browser, args);
				trackContext(visits, created);
				return created;
			};
			try {
				await use();
			} finally {
				browser.newContext = newContext;
			}
			// A failed test has told what went wrong; its pages are looked at in a later run.
			if (testInfo.status !== testInfo.expectedStatus) return;
			expect(await checkVisitedPages(browser, visits, testInfo), 'pages that do not fit a phone').toEqual([]);
		},
		{ auto: true }
	]
});
export { expect };
