import { expect, type Browser, type Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { generateTOTP } from '@oslojs/otp';
import { decodeBase32IgnorePadding } from '@oslojs/encoding';

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

export function totpFor(secret: string): string {
	return generateTOTP(decodeBase32IgnorePadding(secret), 30, 6);
}

/**
 * Completes the forced 2FA enrolment after the password step. Returns the secret so the test can
 * produce later codes, as the person's authenticator app would.
 */
export async function enrolTwoFactor(page: Page): Promise<string> {
	await expect(page.getByRole('heading', { name: 'Activer la vérification en deux étapes' })).toBeVisible();
	const secret = (await page.getByTestId('totp-secret').textContent())!.trim();
	await page.getByLabel('Code à 6 chiffres').fill(totpFor(secret));
	await page.getByRole('button', { name: 'Activer' }).click();
	await expect(page.getByTestId('recovery-codes').getByRole('listitem')).toHaveCount(8);
	await page.getByRole('link', { name: "J'ai noté mes codes, continuer" }).click();
	await expect(page.getByRole('heading', { level: 1, name: /^Bonjour/ })).toBeVisible();
	return secret;
}

/** Signs a coordinator in, enrolling 2FA on first use. */
export async function signInCoordinator(page: Page, login: string): Promise<string> {
	await signIn(page, login);
	return enrolTwoFactor(page);
}

export async function expectAxeClean(page: Page) {
	const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
	const summary = results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
	expect(summary).toEqual([]);
}
