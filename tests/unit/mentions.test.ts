// The composer's @mentions (src/lib/messaging/mentions.ts): what is being typed, who it may name,
// what the pick writes, and which picks are still in the message when it goes.
import { describe, expect, test } from 'vitest';
import { insertMention, mentionCandidates, mentionQuery, mentionSegments, mentionsIn } from '../../src/lib/messaging/mentions';

const reader = (userId: string, name: string) => ({ userId, name, seq: 0, readAt: null });
const READERS = [reader('me', 'Inès Haddad'), reader('c', 'Camille Durand'), reader('k', 'Karim Mansouri'), reader('e', 'Élodie Le Goff-Durand')];

describe('mentionQuery', () => {
	test('an @ at the start or after a space, up to the caret', () => {
		expect(mentionQuery('@Cam', 4)).toEqual({ start: 0, query: 'Cam' });
		expect(mentionQuery('Bonjour @ka', 11)).toEqual({ start: 8, query: 'ka' });
		expect(mentionQuery('Bonjour @', 9)).toEqual({ start: 8, query: '' });
		expect(mentionQuery('Voir @Camille Du', 16)).toEqual({ start: 5, query: 'Camille Du' });
	});
	test('not in an e-mail address, not after the caret, not across lines or two spaces', () => {
		expect(mentionQuery('ecrire a ines@cabinet.fr', 24)).toBeNull();
		expect(mentionQuery('@Cam plus loin', 14)).toBeNull();
		expect(mentionQuery('@Cam\nsuite', 10)).toBeNull();
		expect(mentionQuery('@Camille Durand puis', 20)).toBeNull();
		expect(mentionQuery('@Cam', 2)).toEqual({ start: 0, query: 'C' });
	});
});

describe('mentionCandidates', () => {
	test('any word of the name, accents and case folded; never me', () => {
		expect(mentionCandidates(READERS, 'me', 'cam').map((r) => r.userId)).toEqual(['c']);
		expect(mentionCandidates(READERS, 'me', 'elo').map((r) => r.userId)).toEqual(['e']);
		expect(mentionCandidates(READERS, 'me', 'durand').map((r) => r.userId)).toEqual(['c', 'e']);
		expect(mentionCandidates(READERS, 'me', 'ines')).toEqual([]);
		expect(mentionCandidates(READERS, 'me', '').map((r) => r.userId)).toEqual(['c', 'k', 'e']);
		expect(mentionCandidates(READERS, 'me', 'Camille Du').map((r) => r.userId)).toEqual(['c']);
		expect(mentionCandidates(READERS, 'me', 'zz')).toEqual([]);
	});
});

describe('insertMention and mentionsIn', () => {
	test('the pick replaces the query with the full name and a space, the caret after it', () => {
		expect(insertMention('Merci @cam', 10, 6, 'Camille Durand')).toEqual({ text: 'Merci @Camille Durand ', caret: 22 });
		expect(insertMention('@ka pour demain', 3, 0, 'Karim Mansouri')).toEqual({ text: '@Karim Mansouri pour demain', caret: 16 });
	});
	test('only the picks still written go with the message', () => {
		const picked = new Map([['c', 'Camille Durand'], ['k', 'Karim Mansouri']]);
		expect(mentionsIn('@Camille Durand tu peux voir ?', picked)).toEqual(['c']);
		expect(mentionsIn('plus personne', picked)).toEqual([]);
		expect(mentionsIn('@Karim Mansouri et @Camille Durand', picked).sort()).toEqual(['c', 'k']);
	});
});

describe('mentionSegments', () => {
	test('the names mentioned are set apart, the rest is kept as it is', () => {
		expect(mentionSegments('Merci @Camille Durand, et @Karim ?', ['Camille Durand'])).toEqual([
			{ text: 'Merci ', mention: false },
			{ text: '@Camille Durand', mention: true },
			{ text: ', et @Karim ?', mention: false }
		]);
		// The longer name first when one is the start of another; no names, one plain part.
		expect(mentionSegments('@Anne Marie Roy et @Anne Marie', ['Anne Marie', 'Anne Marie Roy']).map((p) => p.text)).toEqual(['@Anne Marie Roy', ' et ', '@Anne Marie']);
		expect(mentionSegments('@Camille Durand', [])).toEqual([{ text: '@Camille Durand', mention: false }]);
		expect(mentionSegments('', ['X'])).toEqual([]);
	});
});
