import { readFile } from 'node:fs/promises';
import type { Download, Page } from '@playwright/test';
import { expect, test, expectAxeClean, newUserPage, signInCoordinator } from './helpers';

async function downloaded(page: Page, click: () => Promise<void>): Promise<{ file: Download; body: Buffer }> {
	const download = page.waitForEvent('download');
	await click();
	const file = await download;
	return { file, body: await readFile((await file.path())!) };
}

test('a GP opens a patient’s control file from the record and downloads its CSV', async ({ browser }) => {
	const page = await newUserPage(browser, 'ines.haddad');
	await page.getByRole('main').getByRole('link', { name: /Cabinet des Tanneurs/ }).click();
	await page.getByRole('link', { name: 'File active' }).click();
	await expect(page.getByRole('heading', { level: 1, name: 'File active' })).toBeVisible();
	await page.goto(`${new URL(page.url()).pathname}?etat=en_suivi`);
	await page.getByTestId('patient-list').getByRole('link').first().click();
	await expect(page).toHaveURL(/\/patients\/[0-9a-f-]{36}$/);
	const recordUrl = page.url();

	await page.getByRole('link', { name: 'Fichier de contrôle' }).click();
	await expect(page).toHaveURL(`${recordUrl}/controle`);
	await expect(page.getByRole('heading', { level: 1, name: 'Fichier de contrôle' })).toBeVisible();
	await expect(page.getByRole('heading', { level: 2, name: 'Inclusions' })).toBeVisible();
	await expect(page.getByTestId('control-inclusions').getByRole('row')).not.toHaveCount(0);
	await expect(page.getByRole('heading', { level: 2, name: 'Consultations par professionnel' })).toBeVisible();
	await expect(page.getByRole('heading', { level: 2, name: 'Passages en RCP' })).toBeVisible();
	await expect(page.getByText('Le NIR ne figure pas dans ce fichier.')).toBeVisible();
	await expectAxeClean(page);

	const { file, body } = await downloaded(page, () => page.getByTestId('control-csv').click());
	expect(file.suggestedFilename()).toMatch(/^controle-.+\.csv$/);
	const csv = body.toString('utf8');
	expect(csv.startsWith('\ufeff#')).toBe(true);
	const lines = csv.slice(1).trim().split('\r\n').filter((l) => !l.startsWith('#'));
	expect(lines[0]).toBe('rubrique;date;professionnel;profession;detail');
	expect(lines.some((l) => /^(inclusion|reinclusion);\d{4}-\d{2}-\d{2};/.test(l))).toBe(true);
	await expect(page.getByText(/^Fichier téléchargé/)).toBeVisible();
	await page.context().close();
});

test('the network coordinator downloads the evaluation export and the yearly activity report', async ({ page }) => {
	test.slow();
	await signInCoordinator(page, 'marc.weber');
	await page.goto('/pilotage');
	await expect(page).toHaveURL(/\/pilotage\/[0-9a-f-]{36}$/);
	await page.getByRole('navigation', { name: 'Sections du pilotage' }).getByRole('link', { name: 'Rapports et exports' }).click();
	await expect(page).toHaveURL(/\/pilotage\/[0-9a-f-]{36}\/rapports$/);
	await expect(page.getByRole('heading', { level: 2, name: 'Rapports et exports' })).toBeVisible();

	// The demo spans the last two years.
	const today = new Date().toLocaleDateString('sv-SE', { timeZone: 'Europe/Paris' });
	const from = `${Number(today.slice(0, 4)) - 1}-01-01`;
	await page.getByRole('textbox', { name: 'Du', exact: true }).fill(from);
	await page.getByRole('textbox', { name: 'Au', exact: true }).fill(today);
	await page.getByRole('button', { name: 'Afficher les tableaux' }).click();
	await expect(page).toHaveURL(new RegExp(`from=${from}`));
	const bySex = page.getByTestId('aggregate-sexe');
	await expect(bySex.getByRole('rowheader', { name: 'Cabinet des Tanneurs' })).toBeVisible();
	await expect(bySex.getByRole('columnheader', { name: 'Femmes' })).toBeVisible();
	await expectAxeClean(page);

	// The pseudonymised rows: coded columns only, no date in any row (relative days instead).
	const rows = await downloaded(page, () => page.getByTestId('download-evaluation').click());
	expect(rows.file.suggestedFilename()).toBe(`evaluation-${from}-${today}.csv`);
	const csv = rows.body.toString('utf8');
	expect(csv.startsWith('\ufeff#')).toBe(true);
	const lines = csv.slice(1).trim().split('\r\n').filter((l) => !l.startsWith('#'));
	expect(lines[0].split(';').slice(0, 3)).toEqual(['code_pseudonyme', 'numero_inclusion', 'type_inclusion']);
	expect(lines[0]).not.toMatch(/nom|naissance|nir|telephone|mail/);
	expect(lines.length).toBeGreaterThan(10);
	for (const line of lines.slice(1)) expect(line).not.toMatch(/\d{4}-\d{2}-\d{2}|\d{2}\/\d{2}\/\d{4}|@/);
	await expect(page.getByText(/^Fichier téléchargé/)).toBeVisible();

	const tables = await downloaded(page, () => page.getByTestId('download-aggregates').click());
	expect(tables.body.toString('utf8')).toContain('tableau;microstructure;modalite;inclusions');

	// An inverted period is refused in French next to the form.
	await page.getByRole('textbox', { name: 'Du', exact: true }).fill(today);
	await page.getByRole('textbox', { name: 'Au', exact: true }).fill(from);
	await page.getByTestId('download-evaluation').click();
	await expect(page.getByRole('alert').filter({ hasText: 'La date de fin doit être le même jour que la date de début ou après.' })).toBeVisible();

	// The yearly report, as a PDF.
	const year = String(Number(today.slice(0, 4)) - 1);
	await page.getByLabel('Année').selectOption(year);
	const report = await downloaded(page, () => page.getByTestId('download-activity').click());
	expect(report.file.suggestedFilename()).toBe(`rapport-activite-${year}.pdf`);
	expect(report.body.subarray(0, 5).toString('latin1')).toBe('%PDF-');
});
