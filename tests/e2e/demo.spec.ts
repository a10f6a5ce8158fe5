// The demo a newcomer meets on the first start, seen in the browser: the RCP in progress at the
// Cabinet des Tanneurs joined in one click by the GP who animates it, the psychologist on her phone
// and the medical coordinator; a past RCP's minutes with case notes, decisions, actions and the PPS
// versions they validated; a written PPS, its versions compared, printed and exported.
import type { Locator, Page } from '@playwright/test';
import { expect, test, expectAxeClean, newUserPage, signInCoordinator } from './helpers';

/** The live session's card, wherever RCPs are listed, and the way in. */
async function joinFrom(page: Page, path: string, card: Locator) {
	await page.goto(path);
	const live = card.filter({ hasText: 'En cours' });
	await expect(live).toHaveCount(1);
	await live.getByRole('link', { name: 'Rejoindre', exact: true }).click();
	await expect(page.getByRole('heading', { level: 1, name: 'RCP mensuelle' })).toBeVisible();
	await expect(page.getByTestId('rcp-status')).toHaveText('En cours');
}

test('the RCP in progress: Inès, Camille on her phone and the medical coordinator join it at once', async ({ browser }) => {
	test.slow();
	const ines = await newUserPage(browser, 'ines.haddad');
	await joinFrom(ines, '/rcp', ines.getByTestId('overview-session').filter({ hasText: 'Cabinet des Tanneurs' }));
	// The agenda was built, two cases are decided, the pointer is on the next one.
	const agenda = ines.getByTestId('rcp-agenda').getByRole('listitem');
	await expect(agenda.first()).toBeVisible();
	expect(await agenda.count()).toBeGreaterThanOrEqual(6);
	await expect(agenda.filter({ hasText: 'Poursuite' })).toHaveCount(1);
	await expect(agenda.filter({ hasText: 'Adaptation du PPS' })).toHaveCount(1);
	const current = agenda.filter({ has: ines.locator('[aria-current="step"]') });
	await expect(current).toHaveCount(1);
	const title = (await current.locator('.item-title').textContent())!.trim();
	await expect(ines.getByTestId('case-title')).toHaveText(title);
	await expect(ines.getByRole('textbox', { name: 'Notes du cas' })).toHaveValue(/^Point en cours : /);
	// The first case's decision, with its action, as everyone sees it.
	await agenda.first().getByRole('button').first().click();
	await expect(ines.getByTestId('case-decision')).toContainText('Poursuite');
	await expect(ines.getByTestId('case-decision')).toContainText('→');
	// The attendance sheet says who took part, as presence made it.
	const sheet = ines.getByTestId('attendance');
	await expect(sheet.getByRole('row').filter({ hasText: 'Paul Schmitt' }).getByRole('combobox')).toHaveValue('present');
	await expectAxeClean(ines);

	// Camille, on her phone, from the microstructure's RCP page.
	const camille = await newUserPage(browser, 'camille.durand', { viewport: { width: 390, height: 844 } });
	await camille.getByTestId('home-microstructures').getByRole('link', { name: /Cabinet des Tanneurs/ }).click();
	await expect(camille.getByRole('heading', { level: 1, name: 'Cabinet des Tanneurs' })).toBeVisible();
	await joinFrom(camille, `${new URL(camille.url()).pathname}/rcp`, camille.getByTestId('rcp-sessions').getByRole('listitem'));
	await expect(camille.getByTestId('case-title')).toHaveText(title);
	for (const page of [ines, camille]) await expect(page.getByTestId('rcp-online')).toContainText('Camille Durand');

	// The medical coordinator of the network.
	const marcContext = await browser.newContext();
	const marc = await marcContext.newPage();
	await signInCoordinator(marc, 'marc.weber');
	await joinFrom(marc, '/rcp', marc.getByTestId('overview-session').filter({ hasText: 'Cabinet des Tanneurs' }));
	await expect(marc.getByTestId('case-title')).toHaveText(title);
	await expect(ines.getByTestId('rcp-online')).toContainText('Marc Weber');
});

test('a past RCP reads like real minutes, and its PPS versions compare, print and export', async ({ browser }) => {
	test.slow();
	const ines = await newUserPage(browser, 'ines.haddad');
	await ines.getByTestId('home-microstructures').getByRole('link', { name: /Cabinet des Tanneurs/ }).click();
	await ines.getByRole('main').getByRole('link', { name: 'RCP', exact: true }).click();
	// The latest closed session.
	await ines.getByRole('link', { name: /^RCP mensuelle — / }).first().click();
	await expect(ines.getByRole('heading', { level: 1, name: 'Compte rendu de RCP' })).toBeVisible();
	const cases = ines.getByTestId('report-case');
	await expect(cases.first()).toBeVisible();
	expect(await cases.count()).toBeGreaterThanOrEqual(4);
	await expect(cases.filter({ hasText: 'Non abordé' })).toHaveCount(1);
	const decided = cases.filter({ hasNotText: 'Non abordé' });
	for (const c of await decided.all()) await expect(c).toContainText(/Notes\s:\s\S/);
	await expect(ines.getByTestId('report-attendance').getByRole('listitem').filter({ hasText: 'Marc Weber' })).toHaveAttribute('data-attendance', 'distance');
	await expect(ines.getByTestId('report-attendance').getByRole('listitem').filter({ hasText: 'Excusé·e' })).toHaveCount(1);
	await expectAxeClean(ines);
	const minutesPdf = await ines.request.get(`${new URL(ines.url()).pathname}/pdf`);
	expect(minutesPdf.headers()['content-type']).toBe('application/pdf');

	// A PPS version this RCP validated: its content, the plan's history, the comparison.
	await ines.getByRole('link', { name: /^PPS validé\s:\sversion \d+$/ }).first().click();
	await expect(ines.getByRole('heading', { level: 1, name: /^Plan personnalisé de santé — Version \d+$/ })).toBeVisible();
	const version = ines.getByTestId('pps-version');
	await expect(version.getByRole('listitem').first()).toBeVisible();
	await expect(version.getByRole('row').nth(1)).toBeVisible();
	const path = new URL(ines.url()).pathname;
	const n = Number(path.split('/').pop());
	if (n > 1) await expect(ines.getByTestId('pps-diff').getByRole('listitem').first()).not.toHaveText('Aucune différence.');
	await expectAxeClean(ines);
	const fhir = await (await ines.request.get(`${path}/fhir`)).json();
	expect(fhir.entry[0].resource.resourceType).toBe('CarePlan');
	expect(fhir.entry[0].resource.activity.length).toBeGreaterThan(0);
	const pdf = await ines.request.get(path.replace(/versions\/\d+$/, `pdf?version=${n}`));
	expect((await pdf.body()).subarray(0, 5).toString()).toBe('%PDF-');

	// The plan as it stands: the patient's words, the crisis plan, the versions list.
	await ines.getByRole('link', { name: '← PPS en cours' }).click();
	await expect(ines.getByRole('heading', { level: 1, name: 'Plan personnalisé de santé' })).toBeVisible();
	await expect(ines.getByTestId('pps-goals')).toContainText('Ce que je veux');
	await expect(ines.getByTestId('pps-crisis')).not.toBeEmpty();
	await expect(ines.getByTestId('pps-versions').getByRole('listitem').first()).toBeVisible();
	await expectAxeClean(ines);
});
