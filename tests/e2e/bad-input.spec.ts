import { expect, test } from '@playwright/test';
import { expectAxeClean, signIn, signInCoordinator, submit, totpFor } from './helpers';

test('oversized and malformed requests are refused and the server stays up', async ({ request }) => {
	const huge = 'x'.repeat(8 * 1024 * 1024);
	const big = await request.post('/login', {
		headers: { origin: 'http://localhost:4173', 'content-type': 'application/x-www-form-urlencoded' },
		data: `email=a%40b.fr&password=${huge}`,
		failOnStatusCode: false
	});
	expect(big.status()).toBe(413);
	const junk = await request.post('/login', {
		headers: { origin: 'http://localhost:4173', 'content-type': 'application/x-www-form-urlencoded' },
		data: 'email=%E0%A4%A&password',
		failOnStatusCode: false
	});
	expect(junk.status()).toBeLessThan(500);
	const foreign = await request.post('/login', {
		headers: { origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' },
		data: 'email=a%40b.fr&password=x',
		failOnStatusCode: false
	});
	expect(foreign.status()).toBe(403);
	const health = await request.get('/healthz');
	expect(await health.json()).toEqual({ status: 'ok' });
});

test('creating a microstructure with missing and invalid fields answers field by field in French', async ({ page }) => {
	await signInCoordinator(page, 'helene.roy');
	await page.goto('/admin');
	await expectAxeClean(page);
	await page.getByRole('link', { name: 'Réseau Microstructures Bas-Rhin' }).click();
	await page.getByLabel('MSMA — addictions').uncheck();
	await page.getByLabel('Code postal').fill('6700');
	await submit(page, 'Créer une microstructure');
	await expect(page.getByRole('alert')).toHaveText('Le formulaire contient des erreurs : corrigez les champs signalés.');
	await expect(page.getByText('Cochez au moins un programme.')).toBeVisible();
	await expect(page.getByText('Code postal à 5 chiffres.')).toBeVisible();
	await expect(page.getByRole('textbox', { name: 'Nom de la microstructure' })).toHaveAttribute('aria-invalid', 'true');

	await page.getByRole('textbox', { name: 'Nom de la microstructure' }).fill('Cabinet de la Robertsau');
	await page.getByLabel('MSPC — post-Covid').check();
	await page.getByLabel('Code postal').fill('67000');
	await page.getByLabel('Ville').fill('Strasbourg');
	await submit(page, 'Créer une microstructure');
	await expect(page.getByRole('status')).toHaveText('Microstructure créée.');
	await expect(page.getByRole('main').getByRole('link', { name: 'Cabinet de la Robertsau', exact: true })).toBeVisible();
});

test('a network administrator sees sign-in failures in the audit log, filtered', async ({ page, browser }) => {
	const intruder = await (await browser.newContext()).newPage();
	await signIn(intruder, 'emilie.wagner', 'essai-au-hasard');
	await expect(intruder.getByRole('alert')).toBeVisible();

	await signInCoordinator(page, 'anne.legoff');
	// A medical coordinator is not a network administrator: no audit log.
	const refused = await page.goto('/admin/audit');
	expect(refused?.status()).toBe(404);

	const admin = await (await browser.newContext()).newPage();
	const secret = await signInCoordinator(admin, 'admin');
	await admin.goto('/admin/audit');
	await admin.getByLabel('Action').selectOption({ label: 'Échec de connexion' });
	await admin.getByRole('button', { name: 'Filtrer' }).click();
	await expect(admin.getByRole('row').filter({ hasText: 'email emilie.wagner@demo.microstructures.fr' }).first()).toBeVisible();
	await expect(admin.getByRole('row').filter({ hasText: 'Connexion' }).filter({ hasNotText: 'Échec' })).toHaveCount(0);
	await expectAxeClean(admin);
	expect(totpFor(secret)).toMatch(/^\d{6}$/);
});

test('login is throttled per account with a clear French message', async ({ page }) => {
	for (let i = 0; i < 5; i++) {
		await signIn(page, 'francois.hoffmann', `mauvais-${i}`);
		await expect(page.getByRole('alert')).toHaveText('Adresse e-mail ou mot de passe incorrect.');
	}
	await signIn(page, 'francois.hoffmann');
	await expect(page.getByRole('alert')).toHaveText('Trop de tentatives pour ce compte. Réessayez dans 15 minutes.');
});
