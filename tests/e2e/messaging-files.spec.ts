// Attachments, voice messages and search in the browser: Inès Haddad on a 360 px phone sends a PDF
// and an image from the composer (a mistyped file gets a French error), records a voice message
// with the keyboard (Chromium's fake microphone), then finds a message by searching without
// accents and jumps to it in its conversation. Real server, real Chromium, real MediaRecorder.
import { existsSync } from 'node:fs';
import { expect, test, expectAxeClean, signInHome } from './helpers';

const PHONE = { width: 360, height: 740 };
const chromium = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => p && existsSync(p));
test.use({
	launchOptions: {
		executablePath: chromium,
		args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream']
	}
});

const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
// A 1×1 PNG.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');

test('files, a voice message and a search from a phone', async ({ browser }) => {
	const context = await browser.newContext({ viewport: PHONE, isMobile: true, hasTouch: true });
	await context.grantPermissions(['microphone']);
	const page = await context.newPage();
	await signInHome(page, 'ines.haddad');
	await page.goto('/messages');
	await page.getByTestId('conversation-list').getByRole('link', { name: /Équipe — Cabinet des Tanneurs/ }).click();
	const thread = page.getByTestId('thread');
	await expect(page.getByRole('textbox', { name: 'Votre message' })).toBeVisible();
	const conversationPath = new URL(page.url()).pathname;

	// A PDF and an image, sent as soon as chosen.
	const input = page.getByTestId('attach-input');
	await input.setInputFiles({ name: 'compte-rendu-e2e.pdf', mimeType: 'application/pdf', buffer: PDF });
	await expect(thread.getByRole('link', { name: 'compte-rendu-e2e.pdf' })).toBeVisible();
	await input.setInputFiles({ name: 'photo-e2e.png', mimeType: 'image/png', buffer: PNG });
	await expect(thread.getByRole('img', { name: /photo-e2e\.png/ })).toBeVisible();
	// An HTML page renamed .pdf is refused in French, and nothing appears.
	await input.setInputFiles({ name: 'faux.pdf', mimeType: 'application/pdf', buffer: Buffer.from('<!doctype html><script>alert(1)</script>') });
	await expect(page.getByRole('alert')).toContainText('Ce type de fichier n’est pas accepté');
	await expect(thread.getByText('faux.pdf')).toHaveCount(0);
	await page.getByRole('button', { name: 'Fermer' }).click();
	// Over the limit (10 MB by default), refused on the phone before a byte is sent.
	let uploads = 0;
	page.on('request', (r) => r.method() === 'POST' && r.url().endsWith('/fichiers') && uploads++);
	await input.setInputFiles({ name: 'scanner-complet.pdf', mimeType: 'application/pdf', buffer: Buffer.concat([PDF, Buffer.alloc(10 * 1024 * 1024)]) });
	await expect(page.getByRole('alert')).toHaveText(/Le fichier dépasse 10 Mo\u00a0: il n’a pas été envoyé\./);
	expect(uploads).toBe(0);
	await page.getByRole('button', { name: 'Fermer' }).click();

	// A voice message with the keyboard: Enter starts, Enter on "Envoyer le vocal" sends.
	await page.getByTestId('voice').focus();
	await page.keyboard.press('Enter');
	await expect(page.getByRole('timer')).toBeVisible();
	await expect(page.getByTestId('voice-stop')).toBeFocused();
	// The clock runs from the moment the microphone answered.
	await expect(page.getByRole('timer')).toContainText('0:01');
	await page.keyboard.press('Enter');
	const audio = thread.locator('audio').last();
	await expect(audio).toBeVisible();
	await expect(audio).toHaveAttribute('aria-label', /Message vocal/);
	const src = await audio.getAttribute('src');
	const answer = await page.request.get(src!);
	expect(answer.status()).toBe(200);
	expect(answer.headers()['content-type']).toMatch(/^audio\/(webm|ogg|mp4)$/);
	expect(answer.headers()['x-content-type-options']).toBe('nosniff');
	await expectAxeClean(page);

	// Search without accents, then jump to the message in its conversation.
	// Letters only: a token mixing letters and digits is not accent-folded by the search configuration.
	const word = `echographie${Date.now().toString(36).replace(/[0-9]/g, (d) => 'abcdefghij'[Number(d)])}`;
	await page.getByRole('textbox', { name: 'Votre message' }).fill(`Résultat de l’${word.replace('echographie', 'échographie')} reçu à l’hôpital.`);
	await page.getByRole('textbox', { name: 'Votre message' }).press('Enter');
	await expect(thread.getByText(/Résultat de l’échographie/)).toBeVisible();
	await page.goto('/messages/recherche');
	await expect(page.getByRole('heading', { level: 1, name: 'Rechercher dans les messages' })).toBeVisible();
	await page.getByRole('searchbox', { name: 'Mots recherchés' }).fill(`${word} hopital`);
	await page.getByRole('button', { name: 'Rechercher' }).click();
	const results = page.getByTestId('search-results');
	await expect(results.getByRole('listitem')).toHaveCount(1);
	await expect(results.locator('mark')).toHaveText([/^échographie/i, 'hôpital']);
	await expectAxeClean(page);
	await results.getByRole('link', { name: /Équipe — Cabinet des Tanneurs/ }).click();
	await expect(page).toHaveURL(new RegExp(`${conversationPath}\\?seq=\\d+$`));
	// The conversation opens at that message, highlighted and focused.
	const focused = page.locator('[data-testid="message"].focused');
	await expect(focused).toContainText('Résultat de l’échographie');
	await expect(focused).toBeFocused();
	await expect(focused).toBeInViewport();

	// Nothing found, and a query too short.
	await page.goto('/messages/recherche?q=zzzyxwvutsrq');
	await expect(page.getByRole('status')).toContainText('Aucun message ne contient ces mots');
	await page.goto('/messages/recherche?q=a');
	await expect(page.getByRole('alert')).toHaveText('Saisissez au moins 2 caractères.');
	await context.close();
});
