import {
	expect,
	test,
	acceptedTotp,
	email,
	expectAxeClean,
	mailedCode,
	mailedInvitation,
	PASSWORD,
	signIn,
	signInCoordinator,
	signInHome,
	submit,
	waitForMail
} from './helpers';

test('a GP signs in and sees her microstructure', async ({ page }) => {
	await page.goto('/');
	await expect(page).toHaveURL(/\/login/);
	await expectAxeClean(page);
	await signInHome(page, 'ines.haddad');
	await expect(page.getByRole('heading', { name: 'Bonjour Inès' })).toBeVisible();
	await expect(page.getByRole('link', { name: /Cabinet des Tanneurs/ })).toBeVisible();
	await expectAxeClean(page);
});

test('the sign-in page downloads neither the socket.io client, the outbox nor the whole dictionary; signing in (client-side) brings them', async ({ page }) => {
	// What the browser fetched, with its text: the socket.io client is the only script that speaks
	// engine.io's protocol ("EIO="), the outbox the only one that opens IndexedDB; the professions
	// are in the whole French dictionary, not in its core (src/lib/i18n/fr/core.ts).
	const scripts: Promise<string>[] = [];
	const sockets: string[] = [];
	page.on('response', (r) => {
		if (/\/_app\/immutable\/.*\.js$/.test(r.url())) scripts.push(r.text());
	});
	page.on('websocket', (ws) => sockets.push(ws.url()));
	const fetched = async () => (await Promise.all(scripts)).join('\n');
	await page.goto('/login');
	await page.waitForLoadState('networkidle');
	expect(scripts.length).toBeGreaterThan(0);
	expect(await fetched()).not.toContain('EIO=');
	expect(await fetched()).not.toContain('indexedDB');
	expect(await fetched()).not.toContain('Médecin généraliste');
	expect(sockets).toEqual([]);
	// Signing in is a client-side navigation: the layout, already mounted, fetches them then.
	let documents = 0;
	page.on('request', (r) => {
		if (r.resourceType() === 'document') documents++;
	});
	await page.getByLabel('Adresse e-mail').fill(email('ines.haddad'));
	await page.getByLabel('Mot de passe').fill(PASSWORD);
	await submit(page, 'Se connecter');
	await expect(page.getByRole('heading', { level: 1, name: 'Bonjour Inès' })).toBeVisible();
	expect(documents).toBe(0);
	await expect.poll(fetched).toContain('EIO=');
	await expect.poll(fetched).toContain('indexedDB');
	expect(await fetched()).toContain('Médecin généraliste');
	await expect.poll(() => sockets.some((url) => url.includes('/socket.io/'))).toBe(true);
});

test('a wrong password and an unknown e-mail get the same French message, and fields are checked', async ({ page }) => {
	await signIn(page, 'paul.schmitt', 'mauvais-mot-de-passe');
	await expect(page.getByRole('alert')).toHaveText('Adresse e-mail ou mot de passe incorrect.');
	await expect(page.getByLabel('Adresse e-mail')).toHaveValue(email('paul.schmitt'));
	await page.getByLabel('Mot de passe').fill('peu-importe');
	await page.getByLabel('Adresse e-mail').fill('personne@exemple.fr');
	await submit(page, 'Se connecter');
	await expect(page.getByRole('alert')).toHaveText('Adresse e-mail ou mot de passe incorrect.');
	await page.getByLabel('Adresse e-mail').fill('pas-une-adresse');
	await submit(page, 'Se connecter');
	await expect(page.getByText('Adresse e-mail invalide.')).toBeVisible();
	await expect(page.getByLabel('Adresse e-mail')).toHaveAttribute('aria-invalid', 'true');
});

test('a coordinator proves her e-mail before enrolling, a code works once, and an administrator resets a lost factor', async ({ page, browser, baseURL }) => {
	// Five browsers and two enrolments: longer than most.
	test.slow();
	await signIn(page, 'marc.weber');
	await expect(page).toHaveURL(/\/2fa\/setup/);
	await expect(page.getByRole('heading', { name: 'Étape 1 sur 2 : confirmez votre adresse e-mail' })).toBeVisible();
	// The password alone shows no QR code…
	await expect(page.getByTestId('totp-secret')).toHaveCount(0);
	await expectAxeClean(page);
	// …nothing else is reachable…
	await page.goto('/compte');
	await expect(page).toHaveURL(/\/2fa\/setup/);
	// …and posting a code straight to the enrolment step is sent back to the e-mail step.
	const forged = await page.request.post('/2fa/setup?/enrol', {
		form: { code: '123456' },
		headers: { origin: baseURL!, accept: 'text/html' },
		maxRedirects: 0
	});
	expect(forged.status()).toBe(303);
	expect(forged.headers().location).toBe('/2fa/setup');
	await page.reload();
	await expect(page.getByTestId('totp-secret')).toHaveCount(0);

	// A wrong e-mail code is refused; the right one, from the mail, leads to the authenticator.
	await page.getByLabel('Code reçu par e-mail').fill('000000');
	await submit(page, 'Confirmer mon adresse');
	await expect(page.getByRole('alert')).toHaveText('Code incorrect, expiré ou déjà utilisé.');
	const since = Date.now();
	await submit(page, 'Recevoir un code par e-mail');
	await expect(page.getByRole('status')).toHaveText(`Un code à 6 chiffres a été envoyé à ${email('marc.weber')}. Il est valable 10 minutes.`);
	const mail = await waitForMail(email('marc.weber'), since);
	expect(mail.subject).toBe('Votre code de vérification Microstructures');
	expect(mail.text).toContain('Bonjour Marc');
	await page.getByLabel('Code reçu par e-mail').fill(await mailedCode(email('marc.weber'), since));
	await page.getByRole('button', { name: 'Confirmer mon adresse' }).click();
	await expect(page.getByRole('heading', { name: "Étape 2 sur 2 : votre application d'authentification" })).toBeVisible();
	await expectAxeClean(page);

	// A wrong code is refused and the QR code stays the same.
	const secret = (await page.getByTestId('totp-secret').textContent())!.trim();
	await page.getByLabel('Code à 6 chiffres').fill('000000');
	await submit(page, 'Activer');
	await expect(page.getByRole('alert')).toHaveText('Code incorrect ou expiré.');
	await expect(page.getByTestId('totp-secret')).toHaveText(secret);
	const enrolmentCode = await acceptedTotp(secret);
	await page.getByLabel('Code à 6 chiffres').fill(enrolmentCode);
	await page.getByRole('button', { name: 'Activer' }).click();
	await expect(page.getByTestId('recovery-codes').getByRole('listitem')).toHaveCount(8);
	await page.getByRole('link', { name: "J'ai noté mes codes, continuer" }).click();
	await expect(page.getByRole('heading', { name: 'Bonjour Marc' })).toBeVisible();
	// The coordinator sees the three microstructures of the network.
	await page.getByText('Mes microstructures').click();
	await expect(page.getByRole('navigation').getByRole('link', { name: /MSP du Neuhof/ })).toBeVisible();

	await page.getByRole('button', { name: 'Se déconnecter' }).click();
	await expect(page.getByText('Vous êtes déconnecté·e.')).toBeVisible();
	await signIn(page, 'marc.weber');
	await expect(page).toHaveURL(/\/2fa$/);
	// The code that confirmed the enrolment cannot open a session (refused as used, or expired).
	await page.getByLabel('Code à 6 chiffres').fill(enrolmentCode);
	await submit(page, 'Vérifier');
	await expect(page.getByRole('alert')).toHaveText(/^(Ce code a déjà servi\. Attendez le code suivant de votre application\.|Code incorrect ou expiré\.)$/);
	const code = await acceptedTotp(secret);
	await page.getByLabel('Code à 6 chiffres').fill(code);
	await submit(page, 'Vérifier');
	await expect(page.getByRole('heading', { name: 'Bonjour Marc' })).toBeVisible();
	// The same code in another browser, seconds later: refused.
	const thief = await (await browser.newContext()).newPage();
	await signIn(thief, 'marc.weber');
	await thief.getByLabel('Code à 6 chiffres').fill(code);
	await submit(thief, 'Vérifier');
	await expect(thief.getByRole('alert')).toHaveText('Ce code a déjà servi. Attendez le code suivant de votre application.');

	// Marc lost his phone: the network's administrator resets his second factor, with a confirmation.
	const admin = await (await browser.newContext()).newPage();
	await signInCoordinator(admin, 'helene.roy');
	await admin.goto('/admin');
	await admin.getByRole('link', { name: 'Double authentification' }).click();
	await admin.getByLabel('Adresse e-mail de la personne').fill(email('marc.weber'));
	await admin.getByRole('button', { name: 'Rechercher' }).click();
	const person = admin.getByTestId('second-factor-person');
	await expect(person.getByRole('heading', { name: 'Marc Weber' })).toBeVisible();
	await expect(person.getByText('Activée')).toBeVisible();
	await expectAxeClean(admin);
	await person.getByRole('button', { name: 'Réinitialiser la vérification en deux étapes' }).click();
	await person.getByRole('button', { name: 'Confirmer' }).click();
	await expect(admin.getByRole('status').first()).toHaveText('Vérification en deux étapes de Marc Weber réinitialisée. Ses sessions ont été fermées.');
	await expect(person.getByText('Désactivée')).toBeVisible();
	// His open session is over.
	await page.goto('/');
	await expect(page).toHaveURL(/\/login/);

	// No mail can reach him today: the administrator gives him an activation code instead.
	await person.getByRole('button', { name: "Donner un code d'activation" }).click();
	const issued = admin.getByRole('status').first();
	await expect(issued).toContainText("Code d'activation pour Marc Weber");
	const activation = /(\d{6})/.exec((await issued.textContent())!)![1];
	await signIn(page, 'marc.weber');
	await expect(page.getByRole('heading', { name: 'Étape 1 sur 2 : confirmez votre adresse e-mail' })).toBeVisible();
	await page.getByLabel('Code reçu par e-mail').fill(activation);
	await page.getByRole('button', { name: 'Confirmer mon adresse' }).click();
	await expect(page.getByTestId('totp-secret')).toBeVisible();
	expect((await page.getByTestId('totp-secret').textContent())!.trim()).not.toBe(secret);

	// Someone who administers another network does not find him.
	const other = await (await browser.newContext()).newPage();
	await signInCoordinator(other, 'julie.morel');
	await other.goto(`/admin/double-authentification?email=${encodeURIComponent(email('marc.weber'))}`);
	await expect(other.getByText('Aucun compte de vos réseaux ne correspond à cette adresse.')).toBeVisible();
	// And a GP cannot open the page at all.
	const gp = await (await browser.newContext()).newPage();
	await signInHome(gp, 'claire.muller');
	expect((await gp.goto('/admin/double-authentification'))?.status()).toBe(404);
});

test('a storm of wrong passwords does not lock the owner out of a browser she signed in with before', async ({ browser }) => {
	const owner = await (await browser.newContext()).newPage();
	await signInHome(owner, 'yasmine.belkacem');
	const device = (await owner.context().cookies()).find((c) => c.name === 'device');
	expect(device).toMatchObject({ httpOnly: true, sameSite: 'Lax' });
	expect(device!.expires * 1000 - Date.now()).toBeGreaterThan(300 * 24 * 3600_000);
	await owner.getByRole('button', { name: 'Se déconnecter' }).click();

	// Someone else, from the same connection, guesses: five tries, then a short block that says when.
	const attacker = await (await browser.newContext()).newPage();
	for (let i = 0; i < 5; i++) {
		await signIn(attacker, 'yasmine.belkacem', `devine-${i}`);
		await expect(attacker.getByRole('alert')).toHaveText('Adresse e-mail ou mot de passe incorrect.');
	}
	await signIn(attacker, 'yasmine.belkacem');
	await expect(attacker.getByRole('alert')).toHaveText('Trop de tentatives pour ce compte depuis cette connexion. Réessayez dans 1 min.');
	await expectAxeClean(attacker);

	// The owner's browser has its own counter: she signs in with her password.
	await signInHome(owner, 'yasmine.belkacem');
	await expect(owner.getByRole('heading', { name: 'Bonjour Yasmine' })).toBeVisible();
});

test('a coordinator invited by e-mail enrols right away: the invitation link proves the address', async ({ page, browser }) => {
	await signInCoordinator(page, 'julie.morel');
	await page.goto('/admin');
	await page.getByRole('link', { name: 'Dispositif Microstructures Loire-Atlantique' }).click();
	await page.getByLabel('Prénom').fill('Bastien');
	await page.getByRole('textbox', { name: 'Nom', exact: true }).fill('Chevalier');
	await page.getByLabel('Adresse e-mail').fill('bastien.chevalier@exemple.fr');
	await page.getByLabel('Profession').selectOption({ label: 'Coordinateur·rice médical·e' });
	await page.getByLabel('Rôle').selectOption({ label: 'Coordination médicale' });
	const since = Date.now();
	await submit(page, "Envoyer l'invitation");
	await expect(page.getByRole('status')).toHaveText('Invitation envoyée à bastien.chevalier@exemple.fr.');
	const link = await mailedInvitation('bastien.chevalier@exemple.fr', since);

	const guest = await (await browser.newContext()).newPage();
	await guest.goto(link);
	await guest.getByLabel('Mot de passe (10 caractères minimum)').fill('Bastien-Nantes-2026');
	await guest.getByLabel('Confirmez le mot de passe').fill('Bastien-Nantes-2026');
	await guest.getByRole('button', { name: 'Rejoindre' }).click();
	// Straight to the authenticator: no e-mail code needed.
	await expect(guest.getByRole('heading', { name: "Étape 2 sur 2 : votre application d'authentification" })).toBeVisible();
	const secret = (await guest.getByTestId('totp-secret').textContent())!.trim();
	await guest.getByLabel('Code à 6 chiffres').fill(await acceptedTotp(secret));
	await guest.getByRole('button', { name: 'Activer' }).click();
	await expect(guest.getByTestId('recovery-codes').getByRole('listitem')).toHaveCount(8);

	// Signing in later from another browser: password, then the code; no enrolment again.
	const later = await (await browser.newContext()).newPage();
	await later.goto('/login');
	await later.getByLabel('Adresse e-mail').fill('bastien.chevalier@exemple.fr');
	await later.getByLabel('Mot de passe').fill('Bastien-Nantes-2026');
	await submit(later, 'Se connecter');
	await expect(later).toHaveURL(/\/2fa$/);
	await later.getByLabel('Code à 6 chiffres').fill(await acceptedTotp(secret));
	await submit(later, 'Vérifier');
	await expect(later.getByRole('heading', { name: 'Bonjour Bastien' })).toBeVisible();
});

test('changing the password closes the other sessions', async ({ browser }) => {
	const laptop = await (await browser.newContext()).newPage();
	const phone = await (await browser.newContext()).newPage();
	await signInHome(laptop, 'thomas.roth');
	await signInHome(phone, 'thomas.roth');
	await laptop.goto('/compte');
	await expectAxeClean(laptop);
	await laptop.getByLabel('Mot de passe actuel').fill('faux');
	await laptop.getByLabel('Nouveau mot de passe (10 caractères minimum)').fill('court');
	await laptop.getByLabel('Confirmez le mot de passe').fill('court');
	await submit(laptop, 'Changer le mot de passe');
	await expect(laptop.getByText('Le mot de passe doit contenir au moins 10 caractères.')).toBeVisible();
	await laptop.getByLabel('Mot de passe actuel').fill('faux');
	await laptop.getByLabel('Nouveau mot de passe (10 caractères minimum)').fill('Un-nouveau-secret-2026');
	await laptop.getByLabel('Confirmez le mot de passe').fill('Un-nouveau-secret-2026');
	await submit(laptop, 'Changer le mot de passe');
	await expect(laptop.getByRole('alert')).toHaveText('Mot de passe actuel incorrect.');
	await laptop.getByLabel('Mot de passe actuel').fill(PASSWORD);
	await laptop.getByLabel('Nouveau mot de passe (10 caractères minimum)').fill('Un-nouveau-secret-2026');
	await laptop.getByLabel('Confirmez le mot de passe').fill('Un-nouveau-secret-2026');
	await submit(laptop, 'Changer le mot de passe');
	await expect(laptop.getByRole('status')).toContainText('Mot de passe changé');
	// The laptop stays signed in, the phone is signed out.
	await laptop.goto('/');
	await expect(laptop.getByRole('heading', { name: 'Bonjour Thomas' })).toBeVisible();
	await phone.goto('/');
	await expect(phone).toHaveURL(/\/login/);
	await signIn(phone, 'thomas.roth', 'Un-nouveau-secret-2026');
	await expect(phone.getByRole('heading', { name: 'Bonjour Thomas' })).toBeVisible();
	// "Log out everywhere" ends both.
	await phone.goto('/compte');
	await phone.getByRole('button', { name: 'Se déconnecter de tous les appareils' }).click();
	await expect(phone).toHaveURL(/\/login/);
	await laptop.goto('/');
	await expect(laptop).toHaveURL(/\/login/);
});
