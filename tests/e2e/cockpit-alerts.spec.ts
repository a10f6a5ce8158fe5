import { expect, test, expectAxeClean, signInCoordinator, submit } from './helpers';

test('the administrative coordinator sees the demo’s drift alerts, follows one, comes back and acknowledges it; bad thresholds are refused', async ({ page }) => {
	test.slow();
	await signInCoordinator(page, 'sophie.klein');
	await page.goto('/pilotage');
	await expect(page).toHaveURL(/\/pilotage\/[0-9a-f-]{36}$/);
	await page.getByRole('navigation', { name: 'Sections du pilotage' }).getByRole('link', { name: 'Alertes' }).click();
	await expect(page).toHaveURL(/\/pilotage\/[0-9a-f-]{36}\/alertes$/);
	const alertsUrl = page.url();
	await expect(page.getByRole('heading', { level: 2, name: 'Alertes à traiter' })).toBeVisible();

	// The demo's alerts, by microstructure, each saying why with numbers and no patient.
	const open = page.getByTestId('alerts-open');
	const tanneurs = open.getByTestId('alerts-ms').filter({ has: page.getByRole('heading', { level: 3, name: 'Cabinet des Tanneurs' }) });
	const renewals = tanneurs.locator('[data-kind="renewals_overdue"]');
	await expect(renewals).toBeVisible();
	await expect(renewals).toContainText('Renouvellements en retard');
	await expect(renewals).toContainText(/(Un patient|\d+ patients) dont le renouvellement est dépassé/);
	expect(await open.getByTestId('alert').count()).toBeGreaterThanOrEqual(2);
	// One resolved last week in the demo. (The demo's alert acknowledged by Marc Weber is not checked:
	// other specs, in parallel, may record the first contact that resolves it.)
	await expect(page.getByTestId('alerts-acknowledged')).toBeVisible();
	await expect(page.getByTestId('alerts-resolved')).toContainText('Absence non couverte');
	await expectAxeClean(page);

	// What to do: the microstructure's renewals; then back to the alerts.
	await renewals.getByRole('link', { name: /^Voir les renouvellements/ }).click();
	await expect(page).toHaveURL(/\/ms\/[0-9a-f-]{36}\/patients\?renouvellement=1$/);
	await expect(page.getByRole('heading', { level: 1, name: 'File active' })).toBeVisible();
	await page.goBack();
	await expect(page).toHaveURL(alertsUrl);

	await submit(page, 'Marquer comme pris en compte — Renouvellements en retard, Cabinet des Tanneurs');
	await expect(page.getByRole('status')).toHaveText('Alerte marquée comme prise en compte. Elle reste listée à part jusqu’à ce que la situation soit rétablie.');
	await expect(tanneurs.locator('[data-kind="renewals_overdue"]')).toHaveCount(0);
	const acknowledged = page.getByTestId('alerts-acknowledged').getByTestId('alert-acknowledged').filter({ hasText: 'Cabinet des Tanneurs' });
	await expect(acknowledged).toContainText('Renouvellements en retard');
	await expect(acknowledged).toContainText('Prise en compte par Sophie Klein');

	// A check now keeps what is known: the acknowledgement stays. (How many are new or resolved depends
	// on what the specs running in parallel changed in the demo.)
	await submit(page, 'Vérifier maintenant');
	await expect(page.getByRole('status')).toHaveText(/^Vérification faite\. Nouvelles alertes\u00a0: \d+\u00a0; résolues\u00a0: \d+\.$/);
	await expect(acknowledged).toContainText('Prise en compte par Sophie Klein');

	// Thresholds: an absurd value is refused in French, field by field, and nothing changes.
	const field = page.getByLabel('Sans inclusion depuis plus de (jours)');
	await expect(field).toHaveValue('60');
	await field.fill('-5');
	await page.getByLabel('Sans RCP clôturée depuis plus de (jours)').fill('100000');
	await submit(page, 'Enregistrer les seuils');
	await expect(page.getByText('Indiquez un nombre entier de jours entre 14 et 365.')).toBeVisible();
	await expect(page.getByText('Indiquez un nombre entier de jours entre 7 et 365.')).toBeVisible();
	await expect(field).toHaveAttribute('aria-invalid', 'true');
	await expectAxeClean(page);
	await page.goto(alertsUrl);
	await expect(page.getByLabel('Sans inclusion depuis plus de (jours)')).toHaveValue('60');
});
