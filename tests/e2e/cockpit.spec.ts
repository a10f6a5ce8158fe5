// The coordinator's indicators (issue 14): the administrative coordinator of the Bas-Rhin network
// opens Pilotage from the navigation, reads the demo's indicators (key figures, charts with their
// tables, the microstructures side by side), changes the period (an empty one, then an impossible
// one refused in French), downloads the CSV of the same figures; a GP has no Pilotage link and gets
// 404 on the network's cockpit.
import { readFile } from 'node:fs/promises';
import { expect, test, expectAxeClean, signInCoordinator } from './helpers';

let cockpitPath = '';

test.describe.configure({ mode: 'serial' });

test('the administrative coordinator reads the indicators, changes the period and downloads the CSV', async ({ page }) => {
	test.slow();
	await signInCoordinator(page, 'sophie.klein');
	await page.getByRole('link', { name: 'Pilotage', exact: true }).click();
	await expect(page).toHaveURL(/\/pilotage\/[0-9a-f-]{36}$/);
	cockpitPath = new URL(page.url()).pathname;
	await expect(page.getByRole('heading', { level: 1, name: 'Réseau Microstructures Bas-Rhin' })).toBeVisible();

	// The demo's figures for this year: patients followed and included, compared by microstructure.
	const indicators = page.getByTestId('indicators');
	await expect(indicators).toBeVisible();
	const fileActive = Number((await page.getByTestId('figure-file-active').innerText()).replace(/\s/g, ''));
	expect(fileActive).toBeGreaterThan(0);
	const comparison = page.getByTestId('comparison');
	for (const name of ['Cabinet des Tanneurs', 'Centre de santé de Haguenau', 'MSP du Neuhof', 'Total']) {
		await expect(comparison.getByRole('columnheader', { name })).toBeVisible();
	}
	const fileActiveRow = comparison.getByRole('row', { name: /^File active \(patients suivis\)/ });
	await expect(fileActiveRow.getByRole('cell').last()).toHaveText(String(fileActive));
	// Every chart has its table: open one and read the same numbers.
	await page.getByText('Voir les chiffres (tableau)').first().click();
	await expect(page.getByRole('table', { name: /Inclusions et réinclusions par mois/ })).toBeVisible();
	await expectAxeClean(page);

	// A period without activity: the empty state, not zeros everywhere.
	await page.getByLabel('Du', { exact: true }).fill('2015-01-01');
	await page.getByLabel('Au', { exact: true }).fill('2015-12-31');
	await page.getByRole('button', { name: 'Afficher' }).click();
	await expect(page).toHaveURL(/from=2015-01-01&to=2015-12-31/);
	await expect(page.getByTestId('no-data')).toHaveText(/Aucune activité sur cette période/);

	// An inverted period is refused in French and nothing is computed.
	await page.getByLabel('Du', { exact: true }).fill('2026-06-01');
	await page.getByLabel('Au', { exact: true }).fill('2026-05-01');
	await page.getByRole('button', { name: 'Afficher' }).click();
	await expect(page.getByTestId('filter-errors')).toContainText('La fin de la période doit être postérieure ou égale à son début.');
	await expect(page.getByLabel('Au', { exact: true })).toHaveAttribute('aria-invalid', 'true');
	await expect(page.getByTestId('indicators')).toHaveCount(0);
	// A microstructure of another network in the address: refused as well.
	await page.goto(`${cockpitPath}?ms=00000000-0000-4000-8000-000000000000`);
	await expect(page.getByTestId('filter-errors')).toContainText('Microstructure inconnue ou hors de ce réseau.');

	// Back to this year, one microstructure only, then the CSV of the same figures.
	await page.getByRole('link', { name: 'Année en cours' }).click();
	await page.getByRole('checkbox', { name: 'Cabinet des Tanneurs' }).check();
	await page.getByRole('button', { name: 'Afficher' }).click();
	await expect(page).toHaveURL(/ms=[0-9a-f-]{36}/);
	await expect(comparison.getByRole('columnheader', { name: 'MSP du Neuhof' })).toHaveCount(0);
	const tanneursFileActive = (await page.getByTestId('figure-file-active').innerText()).replace(/\s/g, '');
	const downloading = page.waitForEvent('download');
	await page.getByTestId('export-csv').click();
	const download = await downloading;
	expect(download.suggestedFilename()).toMatch(/^pilotage-\d{4}-01-01-\d{4}-\d{2}-\d{2}\.csv$/);
	const csv = await readFile((await download.path())!, 'utf8');
	expect(csv.charCodeAt(0)).toBe(0xfeff);
	const lines = csv.slice(1).split('\r\n');
	expect(lines[0]).toBe('code;indicateur;Cabinet des Tanneurs;Total');
	expect(lines).toContain(`file_active;File active (patients suivis);${tanneursFileActive};${tanneursFileActive}`);
	expect(lines.some((l) => /^no_show_rate;Taux d’absence non excusée \(%\);[\d,]*;[\d,]*$/.test(l))).toBe(true);
	await expectAxeClean(page);

	// The national view is the platform's, not a network coordinator's.
	expect((await page.goto('/pilotage/national'))?.status()).toBe(404);
});

test('the platform admin reads the national view, network by network', async ({ page }) => {
	test.slow();
	await signInCoordinator(page, 'admin');
	await page.getByRole('link', { name: 'Pilotage', exact: true }).click();
	await expect(page).toHaveURL(/\/pilotage\/national$/);
	await expect(page.getByRole('heading', { level: 1, name: 'Pilotage national' })).toBeVisible();
	const comparison = page.getByTestId('comparison');
	for (const name of ['Réseau Microstructures Bas-Rhin', 'Dispositif Microstructures Loire-Atlantique', 'Total']) {
		await expect(comparison.getByRole('columnheader', { name })).toBeVisible();
	}
	// No patient codes on the national view.
	await expect(page.getByTestId('overdue')).toHaveCount(0);
	await page.getByRole('checkbox', { name: 'Réseau Microstructures Bas-Rhin' }).check();
	await page.getByRole('button', { name: 'Afficher' }).click();
	await expect(comparison.getByRole('columnheader', { name: 'Dispositif Microstructures Loire-Atlantique' })).toHaveCount(0);
	await expectAxeClean(page);
});

// A GP's refusal (no Pilotage link, 404 on the cockpit, its CSV and billing) is in billing.spec.ts, which
// reads the network's path in the same test instead of relying on another test having run first.
