// Booking in the browser (issue 12): the GP books the first appointment in the inclusion's flow on a
// phone; two people race for one slot (one wins, the other reads why and sees it gone, and a third
// screen sees it vanish live); the psychologist marks a no-show that reaches the next RCP's agenda
// with its reason; a cancellation's freed slot is offered to the waiting list and refilled.
// Camille Durand's permanences are created through the domain (booking-seed.ts) in the server's
// PostgreSQL database, so this file needs DATABASE_URL (as CI runs it).
import type { Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { expect, test, expectAxeClean, newUserPage, signInHome } from './helpers';

// One psychologist's slots are shared by every scenario: they run one after the other, each with time
// for its sign-ins and inclusions on a loaded machine.
test.describe.configure({ mode: 'serial', timeout: 240_000 });

const PHONE = { width: 390, height: 844 };

function e2eDatabase(): string {
	const url = new URL(process.env.DATABASE_URL!);
	const port = process.env.E2E_PORT ?? '4173';
	url.pathname = `/msh_e2e${port !== '4173' ? `_${port}` : ''}`;
	return url.toString();
}

function seed<T>(...args: string[]): T {
	const out = execFileSync('node_modules/.bin/tsx', ['tests/e2e/booking-seed.ts', ...args], { env: { ...process.env, DATABASE_URL: e2eDatabase(), LOG_LEVEL: 'silent' }, encoding: 'utf8' });
	return JSON.parse(out.trim().split('\n').at(-1)!) as T;
}

const parisToday = () => new Date().toLocaleDateString('sv-SE', { timeZone: 'Europe/Paris' });

/** Includes a patient oriented to the psychologist (Camille Durand joins the care team) at the Cabinet des Tanneurs. */
async function includePatient(page: Page, last: string, first: string, birth: string): Promise<string> {
	await page.goto('/');
	await page.getByRole('link', { name: 'Inclure un patient' }).first().click();
	await page.getByRole('textbox', { name: 'Nom', exact: true }).fill(last);
	await page.getByRole('textbox', { name: 'Prénom' }).fill(first);
	await page.getByLabel('Date de naissance').fill(birth);
	await page.getByRole('radio', { name: 'Addiction' }).check();
	await page.getByRole('radio', { name: 'Psychologue', exact: true }).check();
	await page.getByRole('radio', { name: /Consentement oral attesté/ }).check();
	await page.getByRole('button', { name: 'Inclure le patient' }).click();
	await expect(page.getByRole('heading', { name: 'Patient inclus — et maintenant ?' })).toBeVisible();
	return (await page.getByTestId('first-appointment').getAttribute('href'))!.replace(/\?inclusion$/, '');
}

/** The key (occurrence and start) of the first free slot a booking page offers. */
async function firstSlot(page: Page): Promise<string> {
	const href = await page.getByTestId('slots').getByRole('link').first().getAttribute('href');
	return new URL(href!, 'http://x').searchParams.get('creneau')!;
}
const slotLink = (page: Page, key: string) => page.locator(`[data-testid="slots"] a[href*="creneau=${key}"]`);

let msId = '';
let xavier = ''; // booking page of the patient included on the phone
let yvonne = '';
let zoe = '';

test.beforeAll(() => {
	test.skip(!process.env.DATABASE_URL, 'the booking scenarios seed permanences in the server’s PostgreSQL database');
	const r = seed<{ msId: string; permanences: number }>('permanences');
	expect(r.permanences).toBeGreaterThan(0);
	msId = r.msId;
});

test('a GP on a 390 px phone includes a patient and books the first appointment in the same flow', async ({ browser }) => {
	const context = await browser.newContext({ viewport: PHONE, isMobile: true, hasTouch: true });
	const page = await context.newPage();
	await signInHome(page, 'ines.haddad');
	const started = Date.now();
	xavier = await includePatient(page, 'Quintin', 'Xavier', '1971-03-14');

	// The inclusion's next step: one tap to the earliest free slots of the psychologist he is oriented to.
	await page.getByTestId('first-appointment').click();
	await expect(page.getByRole('heading', { level: 1, name: 'Rendez-vous de QUINTIN Xavier' })).toBeVisible();
	await expect(page.getByTestId('after-inclusion')).toContainText('QUINTIN Xavier est inclus·e');
	await expect(page.getByTestId('budget')).toContainText('0 / 7 consultations avec la psychologue cette année');
	await expect(page.getByRole('heading', { name: 'Psychologue', level: 3 })).toBeVisible();
	await expect(page.getByRole('heading', { name: 'Camille Durand', level: 4 })).toBeVisible();
	await expectAxeClean(page);

	// Pick, then confirm; a double tap books once (the form's request key, the busy button).
	await page.getByTestId('slots').getByRole('link').first().click();
	await expect(page.getByRole('heading', { name: 'Confirmer le rendez-vous' })).toBeFocused();
	await expect(page.getByTestId('confirm')).toContainText('Premier contact avec Camille Durand (psychologue)');
	await expectAxeClean(page);
	await page.getByRole('button', { name: 'Confirmer le rendez-vous' }).dblclick();
	await expect(page.getByTestId('booked')).toContainText('Rendez-vous pris');
	await expect(page.getByTestId('upcoming').getByRole('listitem')).toHaveCount(1);
	await expect(page.getByTestId('upcoming')).toContainText('Premier contact');
	await expect(page.getByTestId('budget')).toContainText('+ 1 prévu(s)');
	console.log(`inclusion then first appointment on a phone: ${((Date.now() - started) / 1000).toFixed(1)} s of scripted use`);
	await expectAxeClean(page);

	// Moving is one step: another slot, confirmed; the old one is freed and the history keeps it.
	await page.getByTestId('upcoming').getByRole('link', { name: /^Déplacer/ }).click();
	await expect(page.getByRole('heading', { name: /^Déplacer le rendez-vous du / })).toBeVisible();
	await page.getByTestId('slots').getByRole('link').first().click();
	await page.getByRole('button', { name: 'Déplacer ici' }).click();
	await expect(page.getByTestId('booked')).toContainText('Rendez-vous déplacé au');
	await expect(page.getByTestId('upcoming').getByRole('listitem')).toHaveCount(1);

	// The record lists it.
	await page.getByRole('link', { name: 'QUINTIN Xavier' }).first().click();
	await expect(page.getByTestId('record-appointments')).toContainText('Camille Durand');
	await context.close();
});

test('two people race for one slot: one books it, the other reads why and it vanishes live elsewhere', async ({ browser }) => {
	test.skip(!xavier, 'needs the patient of the first test');
	const ines = await newUserPage(browser, 'ines.haddad');
	yvonne = await includePatient(ines, 'Roussel', 'Yvonne', '1984-11-02');
	zoe = await includePatient(ines, 'Sauvage', 'Zoé', '1993-06-21');
	const nadia = await newUserPage(browser, 'nadia.benali');
	const paul = await newUserPage(browser, 'paul.schmitt');

	// Inès books for Xavier, the secretariat for Yvonne, the same slot of Camille's; Paul watches Zoé's page.
	await ines.goto(xavier);
	const key = await firstSlot(ines);
	await nadia.goto(yvonne);
	await paul.goto(zoe);
	await expect(slotLink(nadia, key)).toHaveCount(1);
	await expect(slotLink(paul, key)).toHaveCount(1);
	await ines.goto(`${xavier}?creneau=${key}`);
	await nadia.goto(`${yvonne}?creneau=${key}`);
	await expect(ines.getByTestId('confirm')).toBeVisible();
	await expect(nadia.getByTestId('confirm')).toBeVisible();
	// Give both pages time to join the live room before the race.
	await paul.waitForTimeout(500);

	// Both confirm at the same moment (two clicks one after the other would let the live update remove
	// the second confirmation before it is clicked — which is the point of the live update).
	const submitNow = (p: Page) => p.getByTestId('confirm').locator('form').evaluate((form: HTMLFormElement) => form.requestSubmit());
	await Promise.all([submitNow(ines), submitNow(nadia)]);
	// Refused by PostgreSQL's exclusion constraint when both commit at once, or by the slot check when the winner was first.
	const taken = /Ce créneau (vient d’être pris par quelqu’un d’autre|n’est plus libre\s: il vient d’être pris)/;
	await expect
		.poll(async () => (await ines.getByTestId('booked').count()) + (await nadia.getByTestId('booked').count()), { timeout: 15_000 })
		.toBe(1);
	const [winner, loser] = (await ines.getByTestId('booked').count()) ? [ines, nadia] : [nadia, ines];
	await expect(loser.getByRole('alert')).toHaveText(taken);
	// The loser sees the next free slots, the taken one gone.
	await expect(slotLink(loser, key)).toHaveCount(0);
	await expect(loser.getByTestId('slots').getByRole('link').first()).toBeVisible();
	await expect(winner.getByTestId('upcoming')).toContainText('Camille Durand');
	// Paul did nothing: the slot vanished from his screen live.
	await expect(slotLink(paul, key)).toHaveCount(0);
	await expect(paul.getByTestId('slots').getByRole('link').first()).toBeVisible();
	await expectAxeClean(loser);
	for (const p of [ines, nadia, paul]) await p.context().close();
});

test('the psychologist marks a no-show and it reaches the next RCP’s agenda with its reason', async ({ browser }) => {
	test.skip(!xavier, 'needs the patient of the first test');
	const patientId = xavier.split('/').at(-1)!;
	const past = seed<{ appointmentId: string; date: string; time: string }>('past', patientId);
	const camille = await newUserPage(browser, 'camille.durand', { viewport: PHONE });

	// Her agenda: today first (on a phone), then the week; the slot has started, so she says whether he came.
	await camille.getByRole('button', { name: 'Menu' }).click();
	await camille.getByRole('navigation', { name: 'Menu' }).getByRole('link', { name: 'Agenda', exact: true }).click();
	await expect(camille.getByRole('heading', { level: 1, name: 'Mon agenda' })).toBeVisible();
	const line = past.date === parisToday() ? camille.getByTestId('agenda-today').locator(`[data-appointment="${past.appointmentId}"]`) : null;
	if (line) {
		await expect(line).toContainText('QUINTIN Xavier');
		await expectAxeClean(camille);
		await line.getByRole('button', { name: 'Absent non excusé' }).click();
	} else {
		await camille.goto(xavier);
		await camille.getByTestId('past').getByRole('button', { name: 'Absent non excusé' }).click();
	}
	await expect(camille.getByRole('status').filter({ hasText: 'Présence enregistrée' })).toHaveText(/Présence enregistrée\s:\sAbsent non excusé\./);
	await camille.goto(xavier);
	await expect(camille.getByTestId('past')).toContainText('Absent non excusé');

	// Inès plans the next RCP: Xavier is on its agenda, because his first appointment was missed.
	const ines = await newUserPage(browser, 'ines.haddad');
	await ines.goto(`/ms/${msId}/rcp`);
	await ines.locator('#o-title').fill('RCP après absence');
	await ines.locator('#o-date').fill(addDays(parisToday(), 1));
	await ines.locator('#o-start').fill('20:00');
	await ines.locator('#o-end').fill('21:00');
	await ines.getByRole('button', { name: 'Planifier une RCP ponctuelle' }).click();
	await expect(ines.getByRole('heading', { level: 1, name: 'RCP après absence' })).toBeVisible();
	const onAgenda = ines.getByTestId('rcp-agenda').getByRole('button', { name: 'QUINTIN Xavier', exact: true });
	await expect(onAgenda).toBeVisible();
	// His case says why (the demo's own no-shows may come first on the agenda).
	await onAgenda.click();
	await expect(ines.getByRole('heading', { level: 2, name: 'QUINTIN Xavier' })).toBeVisible();
	await expect(ines.getByRole('listitem').filter({ hasText: /^Rendez-vous manqué sans excuse le .+ \(deux de suite, ou le premier rendez-vous\)$/ })).toHaveCount(1);
	await camille.context().close();
	await ines.context().close();
});

test('a cancellation offers the freed slot to the waiting list, and it is refilled', async ({ browser }) => {
	test.skip(!yvonne || !zoe, 'needs the patients of the race');
	const nadia = await newUserPage(browser, 'nadia.benali', { viewport: PHONE });
	// Yvonne needs an appointment (the race may have gone to Xavier): the secretariat books her first slot.
	await nadia.goto(yvonne);
	if ((await nadia.getByTestId('upcoming').getByRole('listitem').count()) === 0) {
		await nadia.getByTestId('slots').getByRole('link').first().click();
		await nadia.getByRole('button', { name: 'Confirmer le rendez-vous' }).click();
		await expect(nadia.getByTestId('booked')).toBeVisible();
	}

	// Zoé finds no slot that suits: she joins the waiting list for the psychologist.
	await nadia.goto(zoe);
	await nadia.getByText('Inscrire sur la liste d’attente').first().click();
	await nadia.getByRole('button', { name: 'Inscrire sur la liste d’attente' }).click();
	await expect(nadia.getByRole('status').filter({ hasText: 'Inscrit·e sur la liste d’attente' })).toBeVisible();
	await expect(nadia.getByTestId('waiting')).toContainText('Déjà sur la liste d’attente pour psychologue');

	// Yvonne cancels, with a coded reason and a note.
	await nadia.goto(yvonne);
	await nadia.getByTestId('upcoming').getByRole('button', { name: /Annuler le rendez-vous/ }).first().click();
	const freedId = await nadia.locator('form[action="?/cancel"] input[name="appointmentId"]').inputValue();
	await nadia.getByTestId('upcoming').getByLabel('Motif de l’annulation').selectOption({ label: 'À la demande du patient' });
	await nadia.getByTestId('upcoming').getByLabel('Précision (facultatif)').fill('Rappelle la semaine prochaine');
	await nadia.getByRole('button', { name: 'Confirmer l’annulation' }).click();
	await expect(nadia.getByRole('status').filter({ hasText: 'Rendez-vous annulé' })).toBeVisible();
	await expect(nadia.getByTestId('upcoming')).toContainText('Annulé');

	// The waiting list offers the freed slot, first waiting first; one action gives it away.
	await nadia.goto(`/ms/${msId}/rendez-vous/attente`);
	await expect(nadia.getByTestId('waiting-list')).toContainText('SAUVAGE Zoé');
	const stats = async () => (await nadia.getByTestId('refill-stats').innerText()).match(/(\d+)\s\/\s(\d+)/)!.slice(1).map(Number);
	const [refilledBefore, freedBefore] = await stats();
	const freed = nadia.locator(`article[aria-labelledby="freed-${freedId}"]`);
	const offer = freed.getByRole('button', { name: /^Donner ce créneau à / }).first();
	await expect(offer).toBeVisible();
	await expectAxeClean(nadia);
	const given = (await offer.innerText()).replace('Donner ce créneau à ', '').trim();
	await offer.click();
	await expect(nadia.getByRole('status').filter({ hasText: 'Créneau redonné' })).toBeVisible();
	await expect(freed).toHaveCount(0);
	expect(await stats()).toEqual([refilledBefore + 1, freedBefore]);
	await expect(nadia.getByTestId('refill-stats')).toContainText(/Créneaux libérés reprogrammés\s:\s[1-9]\d*\s\/\s[1-9]/);
	console.log(`waiting list: the freed slot went to ${given === 'SAUVAGE Zoé' ? 'Zoé' : 'an earlier waiting patient'}`);
	if (given === 'SAUVAGE Zoé') {
		await nadia.goto(zoe);
		await expect(nadia.getByTestId('upcoming').getByRole('listitem')).toHaveCount(1);
		await expect(nadia.getByTestId('waiting')).not.toContainText('Déjà sur la liste d’attente');
	}

	// The microstructure's agenda: names, times, professional, room — and the booking search.
	await nadia.goto(`/ms/${msId}/rendez-vous?vue=semaine`);
	await expect(nadia.getByRole('heading', { level: 1, name: 'Rendez-vous — Cabinet des Tanneurs' })).toBeVisible();
	await nadia.getByLabel('Nom du patient').fill('sauvage');
	await nadia.getByRole('button', { name: 'Chercher' }).click();
	await expect(nadia.getByTestId('patient-search')).toContainText('Rendez-vous pour SAUVAGE Zoé');
	await expectAxeClean(nadia);
	await nadia.context().close();
});

function addDays(date: string, days: number): string {
	const d = new Date(`${date}T12:00:00Z`);
	d.setUTCDate(d.getUTCDate() + days);
	return d.toISOString().slice(0, 10);
}

