import { readFile } from 'node:fs/promises';
import { expect, test, newUserPage, signInCoordinator, expectAxeClean } from './helpers';
import { nirKey } from '../../src/lib/server/patients/nir.ts';

function validNir(): string {
	const base = `1800567${String(Math.floor(Math.random() * 900000) + 100000)}`;
	return base + String(nirKey(base)).padStart(2, '0');
}

test('the administrative coordinator fixes a missing NIR from the checks, exports the packages once and downloads the file', async ({ browser }) => {
	test.setTimeout(180_000);
	const context = await browser.newContext();
	const page = await context.newPage();
	await signInCoordinator(page, 'sophie.klein');
	await page.getByRole('navigation', { name: 'Menu' }).getByRole('link', { name: 'Pilotage' }).click();
	await page.getByRole('navigation', { name: 'Sections du pilotage' }).getByRole('link', { name: 'Facturation' }).click();
	await expect(page.getByRole('heading', { level: 2, name: 'Facturation' })).toBeVisible();

	// The demo spans the last two years: check the longest period allowed (18 months).
	const day = (d: Date) => d.toLocaleDateString('sv-SE', { timeZone: 'Europe/Paris' });
	const today = day(new Date());
	const from = day(new Date(Date.now() - 540 * 86_400_000));
	await page.getByRole('textbox', { name: 'Du', exact: true }).fill(from);
	await page.getByRole('textbox', { name: 'Au', exact: true }).fill(today);
	await page.getByRole('button', { name: 'Vérifier' }).click();
	await expect(page).toHaveURL(new RegExp(`from=${from}`));
	const failures = page.getByTestId('billing-failures');
	await expect(failures).toBeVisible();
	expect(Number(await page.getByTestId('blocked-count').textContent())).toBeGreaterThan(0);
	// The first ten are shown (on a phone the export would be far below), the rest on demand.
	const showAll = async () => {
		await expect(failures.getByRole('rowheader')).toHaveCount(10);
		const more = page.getByRole('button', { name: /^Afficher les \d+ forfaits à corriger$/ });
		await expect(more).toHaveAttribute('aria-expanded', 'false');
		await more.click();
		await expect(page.getByRole('button', { name: 'N’afficher que les premiers' })).toHaveAttribute('aria-expanded', 'true');
		expect(await failures.getByRole('rowheader').count()).toBeGreaterThan(10);
	};
	await showAll();
	await expectAxeClean(page);

	// A package blocked by a missing NIR only (no other check failing) is ready once it is entered.
	const row = failures.getByRole('row').filter({ hasText: 'NIR manquant' }).filter({ hasNotText: 'RCP' }).filter({ hasNotText: 'Consentement' }).first();
	const code = (await row.getByRole('rowheader').textContent())!.trim();
	const billingUrl = page.url();
	await row.getByRole('link', { name: /Corriger/ }).first().click();
	await expect(page.getByRole('heading', { name: 'NIR (facturation)' })).toBeVisible();
	await page.getByLabel('Statut du NIR').selectOption('fourni');
	await page.getByLabel('NIR (15 caractères)').fill(validNir());
	await page.getByRole('button', { name: 'Enregistrer le NIR' }).click();
	await expect(page.getByText('NIR enregistré.')).toBeVisible();
	await page.goto(billingUrl);
	await showAll();
	// (Counts are not compared: specs running in parallel include patients in the same demo.)
	await expect(failures.getByRole('rowheader', { name: code, exact: true })).toHaveCount(0);

	// Export, with a confirmation.
	const ready = Number(await page.getByTestId('ready-count').textContent());
	expect(ready).toBeGreaterThan(0);
	await page.getByRole('button', { name: /^Exporter \d+ forfait/ }).click();
	await page.getByRole('button', { name: 'Confirmer' }).click();
	await expect(page.getByRole('status')).toContainText(/Export n°\s\d+ enregistré/);
	const download = page.waitForEvent('download');
	await page.getByTestId('download-new-run').click();
	const file = await download;
	const csv = await readFile((await file.path())!, 'utf8');
	const lines = csv.replace('\ufeff', '').trim().split('\r\n');
	expect(lines[0].split(';')).toContain('nir');
	expect(lines[0].split(';')).toContain('code_facturation');
	expect(lines.length).toBeGreaterThan(ready);
	const ofPatient = lines.filter((l) => l.split(';')[3] === code);
	expect(ofPatient.length).toBeGreaterThanOrEqual(2);
	expect(ofPatient[0].split(';')[8]).toMatch(/^\d{15}$/);

	// Nothing is exported twice: the packages are no longer pending, and the run is listed.
	await page.reload();
	await expect.poll(async () => Number(await page.getByTestId('ready-count').textContent())).toBeLessThan(ready);
	await expect(page.getByTestId('billing-runs').getByRole('row')).toHaveCount(2);

	// A bad tariff is refused in French, nothing saved.
	await page.getByRole('textbox', { name: 'Forfait (€)', exact: true }).fill('100');
	await page.getByRole('textbox', { name: 'Psychologue (€)', exact: true }).fill('-3');
	await page.getByLabel('Travailleur social (€)').fill('20');
	await page.getByLabel('Coordination administrative (€)').fill('1');
	await page.getByLabel('Coordination médicale (€)').fill('1');
	await page.getByRole('button', { name: 'Enregistrer le tarif' }).click();
	await expect(page.getByText('Montant en euros, positif')).toBeVisible();
	await expect(page.getByTestId('tariffs').getByRole('row')).toHaveCount(3);
	await context.close();
});

test('billing is the administrative coordination’s: the medical coordinator has no tab, a GP gets 404 on the cockpit', async ({ browser }) => {
	const gp = await newUserPage(browser, 'ines.haddad');
	await expect(gp.getByRole('link', { name: 'Pilotage' })).toHaveCount(0);
	const network = await gp.request.get('/pilotage');
	expect(network.status()).toBe(404);
	const context = await browser.newContext();
	const marc = await context.newPage();
	await signInCoordinator(marc, 'marc.weber');
	await marc.goto('/pilotage');
	await expect(marc.getByRole('navigation', { name: 'Sections du pilotage' })).toBeVisible();
	await expect(marc.getByRole('navigation', { name: 'Sections du pilotage' }).getByRole('link', { name: 'Facturation' })).toHaveCount(0);
	const networkPath = new URL(marc.url()).pathname;
	expect((await marc.request.get(`${networkPath}/facturation`)).status()).toBe(404);
	expect((await gp.request.get(networkPath)).status()).toBe(404);
	expect((await gp.request.get(`${networkPath}/facturation`)).status()).toBe(404);
	expect((await gp.request.get(`${networkPath}/indicateurs.csv`)).status()).toBe(404);
	await context.close();
});
