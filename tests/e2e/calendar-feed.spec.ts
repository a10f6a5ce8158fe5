// The private calendar link on /compte, in Chromium against the production server: Camille creates
// it, the URL is shown once and serves her agenda (her patients by code and initials), replacing it
// kills the old URL, deleting it kills the new one; the section is accessible and fits a phone.
import { expect, test, expectAxeClean, newUserPage } from './helpers';

test('a professional subscribes her phone to her agenda, replaces and deletes the link', async ({ browser }) => {
	test.slow();
	const page = await newUserPage(browser, 'camille.durand');
	await page.goto('/compte');
	const section = page.locator('#agenda');
	await expect(section.getByRole('heading', { name: 'Mon agenda sur mon téléphone' })).toBeVisible();
	// A link from an earlier run of this test on the same server: start from none.
	if (await section.getByRole('button', { name: 'Supprimer le lien' }).isVisible()) {
		await section.getByRole('button', { name: 'Supprimer le lien' }).click();
		await section.getByRole('button', { name: 'Supprimer', exact: true }).click();
		await expect(page.getByText('Le lien d’agenda est supprimé.')).toBeVisible();
	}
	await section.getByRole('button', { name: 'Créer mon lien d’agenda' }).click();
	await expect(page.getByText('Votre lien d’agenda est prêt.')).toBeVisible();
	const field = section.getByLabel('Lien d’abonnement (affiché une seule fois)');
	const first = await field.inputValue();
	expect(first).toMatch(/\/calendrier\/[a-z2-7]{40}\.ics$/);
	await expectAxeClean(page);

	// The feed, as a calendar app reads it: no cookie.
	const anonymous = await browser.newContext();
	const feed = await anonymous.request.get(first);
	expect(feed.status()).toBe(200);
	expect(feed.headers()['content-type']).toContain('text/calendar');
	const ics = await feed.text();
	expect(ics).toContain('BEGIN:VCALENDAR');
	expect(ics).toMatch(/SUMMARY:Permanence · Cabinet des Tanneurs/);
	expect(ics).toMatch(/SUMMARY:RDV P-[A-Z2-7]{4}-[A-Z2-7]{4} [A-ZÀ-Ý]\.\u00a0[A-ZÀ-Ý]\. \((suivi|premier contact)\)/);
	expect(ics).not.toMatch(/addiction|MSMA/i);

	// Once shown, never again: a reload shows the link's dates only.
	await page.reload();
	await expect(section.getByLabel('Lien d’abonnement (affiché une seule fois)')).toHaveCount(0);
	await expect(section.getByText(/Lien actif depuis le/)).toBeVisible();

	// Replacing it: the old URL answers 404, the new one serves.
	await section.getByRole('button', { name: 'Remplacer le lien' }).click();
	await section.getByRole('button', { name: 'Remplacer', exact: true }).click();
	await expect(page.getByText('Votre lien d’agenda est prêt.')).toBeVisible();
	const second = await section.getByLabel('Lien d’abonnement (affiché une seule fois)').inputValue();
	expect(second).not.toBe(first);
	expect((await anonymous.request.get(first)).status()).toBe(404);
	expect((await anonymous.request.get(second)).status()).toBe(200);

	// Deleting it: 404 too.
	await section.getByRole('button', { name: 'Supprimer le lien' }).click();
	await section.getByRole('button', { name: 'Supprimer', exact: true }).click();
	await expect(page.getByText('Le lien d’agenda est supprimé.')).toBeVisible();
	expect((await anonymous.request.get(second)).status()).toBe(404);
	await expect(section.getByRole('button', { name: 'Créer mon lien d’agenda' })).toBeVisible();
	await anonymous.close();
});

test('a GP records a patient’s consent to reminders; the page says SMS cannot be sent here', async ({ browser }) => {
	test.slow();
	const page = await newUserPage(browser, 'ines.haddad');
	await page.getByRole('main').getByRole('link', { name: /Cabinet des Tanneurs/ }).first().click();
	await page.getByRole('link', { name: 'File active' }).click();
	await page.getByRole('main').locator('a[href*="/patients/"]:not([href$="/nouveau"])').first().click();
	await expect(page).toHaveURL(/\/patients\/[0-9a-f-]{36}$/);
	await page.goto(`${new URL(page.url()).pathname}/rappels`);
	await expect(page.getByRole('heading', { level: 1, name: /Rappels de rendez-vous/ })).toBeVisible();
	await expect(page.getByText('Les rappels par SMS ne sont pas envoyés')).toBeVisible();
	// A consent without an address is refused in French.
	await page.getByLabel('Adresse e-mail du patient').fill('');
	await page.getByLabel('Le patient accepte les rappels par e-mail').check();
	await page.getByRole('button', { name: 'Enregistrer' }).click();
	await expect(page.getByText('Une adresse e-mail est nécessaire pour les rappels par e-mail.')).toBeVisible();
	await page.getByLabel('Adresse e-mail du patient').fill('rappel.e2e@exemple.fr');
	await page.getByRole('button', { name: 'Enregistrer' }).click();
	await expect(page.getByText('Contact et consentement aux rappels enregistrés.')).toBeVisible();
	await page.reload();
	await expect(page.getByLabel('Le patient accepte les rappels par e-mail')).toBeChecked();
	await expect(page.getByLabel('Adresse e-mail du patient')).toHaveValue('rappel.e2e@exemple.fr');
	await expectAxeClean(page);
});
