import type { Page } from '@playwright/test';
import WebSocket from 'ws';
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import { expect, test, newUserPage } from './helpers';

async function openMicrostructure(page: Page, name: string) {
	await page.getByRole('main').getByRole('link', { name }).first().click();
	await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
	await expect(page.getByTestId('notes-status')).toHaveText('Synchronisé');
	return new URL(page.url()).pathname.split('/').pop()!;
}
const openTanneurs = (page: Page) => openMicrostructure(page, 'Cabinet des Tanneurs');

test('two GPs see each other online and co-edit the team notes live', async ({ browser }) => {
	const ines = await newUserPage(browser, 'ines.haddad');
	const paul = await newUserPage(browser, 'paul.schmitt');
	await openTanneurs(ines);
	await openTanneurs(paul);

	// Presence comes through the authenticated socket.io connection.
	await expect(ines.getByTestId('online-list')).toContainText('Paul Schmitt');
	await expect(paul.getByTestId('online-list')).toContainText('Inès Haddad');

	const inesNotes = ines.getByRole('textbox', { name: "Notes d'équipe" });
	const paulNotes = paul.getByRole('textbox', { name: "Notes d'équipe" });
	await expect(paulNotes).toHaveValue(/Notes d'équipe — Cabinet des Tanneurs/);
	await inesNotes.click();
	await inesNotes.press('Control+End');
	await inesNotes.pressSequentially('\nRCP de décembre : inviter la CSAPA.');
	await expect(paulNotes).toHaveValue(/RCP de décembre : inviter la CSAPA\./, { timeout: 2000 });

	await paulNotes.click();
	await paulNotes.press('Control+Home');
	await paulNotes.pressSequentially('[Urgent] ');
	await expect(inesNotes).toHaveValue(/^\[Urgent\] Notes d'équipe/, { timeout: 2000 });
	// Concurrent typing at both ends converges.
	await Promise.all([inesNotes.pressSequentially(' Salle réservée.'), paulNotes.pressSequentially('(lu) ')]);
	await expect.poll(async () => (await inesNotes.inputValue()) === (await paulNotes.inputValue())).toBe(true);
	const merged = await inesNotes.inputValue();
	expect(merged).toContain('Salle réservée.');
	expect(merged).toContain('(lu)');

	// The notes are stored: a fresh page load shows them.
	await ines.reload();
	await expect(ines.getByTestId('notes-status')).toHaveText('Synchronisé');
	await expect(ines.getByRole('textbox', { name: "Notes d'équipe" })).toHaveValue(merged);
});

// Presence is per person: the departing colleague must be someone no other spec signs in as, or a
// parallel worker's session keeps them rightly listed. Saint-Herblain's GP and nurse are used here only.
test('a colleague who closes the app leaves the online list', async ({ browser }) => {
	const antoine = await newUserPage(browser, 'antoine.bernard');
	const manon = await newUserPage(browser, 'manon.robin');
	const name = 'Cabinet médical de Saint-Herblain';
	await openMicrostructure(antoine, name);
	await openMicrostructure(manon, name);
	await expect(antoine.getByTestId('online-list')).toContainText('Manon Robin');
	await manon.context().close();
	// A closed tab is usually seen at once; a connection that just drops is seen by the heartbeat
	// (10 s interval + 5 s timeout, socket.ts), which is the bound promised here, with room for a
	// loaded CI machine.
	await expect(antoine.getByTestId('online-list')).not.toContainText('Manon Robin', { timeout: 30_000 });
	await expect(antoine.getByTestId('online-list')).toContainText('Antoine Bernard');
});

test('an unauthenticated Yjs upgrade is refused', async ({ browser, baseURL }) => {
	const ines = await newUserPage(browser, 'ines.haddad');
	const msId = await openTanneurs(ines);
	const url = `${baseURL!.replace('http', 'ws')}/yjs/ms-notes:${msId}`;

	const status = await new Promise<number>((resolve) => {
		const ws = new WebSocket(url);
		ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
		ws.on('open', () => resolve(101));
	});
	expect(status).toBe(401);

	// From a browser without a session, the socket never opens.
	const anonymous = await (await browser.newContext()).newPage();
	await anonymous.goto('/login');
	const outcome = await anonymous.evaluate(
		(u) =>
			new Promise<string>((resolve) => {
				const ws = new WebSocket(u);
				ws.onopen = () => resolve('open');
				ws.onerror = () => resolve('refused');
			}),
		url
	);
	expect(outcome).toBe('refused');
});

test('a read-only member cannot change the notes, even by talking to the server directly', async ({ browser, baseURL }) => {
	const ines = await newUserPage(browser, 'ines.haddad');
	const nadia = await newUserPage(browser, 'nadia.benali');
	const msId = await openTanneurs(ines);
	await openTanneurs(nadia);
	await expect(nadia.getByText('Lecture seule')).toBeVisible();
	await expect(nadia.getByRole('textbox', { name: "Notes d'équipe" })).toHaveAttribute('readonly', '');

	// A hand-made Yjs update, sent over the secretary's own authenticated websocket.
	const forged = new Y.Doc();
	forged.getText('notes').insert(0, 'MODIFICATION PIRATE ');
	const encoder = encoding.createEncoder();
	encoding.writeVarUint(encoder, 0); // sync message
	encoding.writeVarUint(encoder, 2); // update
	encoding.writeVarUint8Array(encoder, Y.encodeStateAsUpdate(forged));
	const bytes = Array.from(encoding.toUint8Array(encoder));
	const sent = await nadia.evaluate(
		({ url, bytes }) =>
			new Promise<string>((resolve) => {
				const ws = new WebSocket(url);
				ws.binaryType = 'arraybuffer';
				ws.onopen = () => {
					ws.send(new Uint8Array(bytes));
					setTimeout(() => {
						ws.close();
						resolve('sent');
					}, 500);
				};
				ws.onerror = () => resolve('refused');
			}),
		{ url: `${baseURL!.replace('http', 'ws')}/yjs/ms-notes:${msId}`, bytes }
	);
	expect(sent).toBe('sent');

	// The GP's edit still reaches the secretary: the document is alive, only her write was dropped.
	const notes = ines.getByRole('textbox', { name: "Notes d'équipe" });
	await notes.click();
	await notes.press('Control+End');
	await notes.pressSequentially('\nVérifié par Inès.');
	await expect(nadia.getByRole('textbox', { name: "Notes d'équipe" })).toHaveValue(/Vérifié par Inès\./);
	await expect(nadia.getByRole('textbox', { name: "Notes d'équipe" })).not.toHaveValue(/PIRATE/);
	await expect(notes).not.toHaveValue(/PIRATE/);
	await ines.reload();
	await expect(ines.getByTestId('notes-status')).toHaveText('Synchronisé');
	await expect(ines.getByRole('textbox', { name: "Notes d'équipe" })).toHaveValue(/Vérifié par Inès\./);
	await expect(ines.getByRole('textbox', { name: "Notes d'équipe" })).not.toHaveValue(/PIRATE/);
});
