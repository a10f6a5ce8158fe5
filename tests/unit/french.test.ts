// French on screen: the dictionary's typography (a no-break space, U+00A0, before : ; ? ! and inside
// « », "1er" for the first of the month) and the audit log's labels (every action code written by the
// code base has a French phrase and an English twin; an unknown code never shows as itself).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { fr } from '../../src/lib/i18n/fr.ts';
import { en } from '../../src/lib/i18n/en.ts';
import { withCockpit } from '../../src/lib/i18n/cockpit.ts';
import { withPlanning } from '../../src/lib/i18n/planning.ts';
import { withSecurity } from '../../src/lib/i18n/security.ts';
import { withAudit } from '../../src/lib/i18n/audit.ts';
import { formatDate, formatDay } from '../../src/lib/i18n/index.ts';
import { auditActionLabel, auditTargetLabel } from '../../src/lib/audit-labels.ts';
import { ALLOWED_FROM } from '../../src/lib/server/patients/lifecycle.ts';

// The audit labels are a section of their own (downloaded only by the pages that show them).
const frAudit = withAudit('fr');
const enAudit = withAudit('en');

const NBSP = '\u00a0';

function strings(node: unknown, path = ''): { path: string; text: string }[] {
	if (typeof node === 'string') return [{ path, text: node }];
	if (node && typeof node === 'object') return Object.entries(node).flatMap(([k, v]) => strings(v, path ? `${path}.${k}` : k));
	return [];
}

/** What is wrong with the typography of one French string. */
function typographyProblems(text: string): string[] {
	const problems: string[] = [];
	// A sign that ends a clause (followed by a space or the end), not the colon of "12:30" or "https:".
	for (const m of text.matchAll(/(.?)([:;?!])(?=\s|$)/g)) {
		if (m[1] !== NBSP) problems.push(`"${m[1]}${m[2]}" needs a no-break space before "${m[2]}"`);
	}
	if (/« |«(?!\u00a0)/.test(text)) problems.push('« needs a no-break space after it');
	if (/ »|[^\u00a0]»/.test(text)) problems.push('» needs a no-break space before it');
	if (text.includes('\u202f')) problems.push('U+202F: the dictionary uses U+00A0 throughout');
	return problems;
}

describe('French typography', () => {
	test('the rule itself', () => {
		expect(typographyProblems('Réseau : Bas-Rhin')).toHaveLength(1);
		expect(typographyProblems('Réseau: Bas-Rhin')).toHaveLength(1);
		expect(typographyProblems('Vraiment ?')).toHaveLength(1);
		expect(typographyProblems('« citation »')).toHaveLength(2);
		expect(typographyProblems(`Réseau${NBSP}: Bas-Rhin${NBSP}; fin${NBSP}?`)).toEqual([]);
		expect(typographyProblems('Heure invalide (HH:MM), https://visio.fr')).toEqual([]);
		expect(typographyProblems(`«${NBSP}citation${NBSP}»`)).toEqual([]);
	});

	test('every French message puts a no-break space before : ; ? ! and inside « »', () => {
		const bad = strings(withAudit('fr', withPlanning('fr', withSecurity('fr', withCockpit('fr'))))).flatMap(({ path, text }) => typographyProblems(text).map((p) => `${path}: ${p} in ${JSON.stringify(text)}`));
		expect(bad).toEqual([]);
	});

	test('the quorum line and the first of the month', () => {
		expect(fr.rcp.quorumExpectedMissing.replace('{list}', 'Psychologue')).toBe(`Quorum attendu (réponses)${NBSP}: manque Psychologue`);
		expect(formatDate('2026-02-01', 'fr')).toBe('1er février 2026');
		expect(formatDate('2026-02-02', 'fr')).toBe('2 février 2026');
		expect(formatDate('2026-02-11', 'fr')).toBe('11 février 2026');
		expect(formatDate('2026-02-21', 'fr')).toBe('21 février 2026');
		expect(formatDate('2026-02-01', 'en')).toBe('1 February 2026');
		expect(fr.patients.includedOn.replace('{date}', formatDate('2026-02-01', 'fr'))).toBe('Inclus le 1er février 2026');
		// An instant is read in Paris: 23:30 UTC on 31 January is already 1 February there.
		expect(formatDay('2026-01-31T23:30:00Z', 'fr')).toBe('dimanche 1er février 2026');
		expect(formatDay('2026-03-03T11:30:00Z', 'fr')).toBe('mardi 3 mars 2026');
	});
});

/** Every audit action code written as a literal (`action: 'rcp.started'`) in these directories. */
function actionLiterals(dirs: string[]): Set<string> {
	const found = new Set<string>();
	const walk = (dir: string) => {
		for (const name of readdirSync(dir)) {
			const path = join(dir, name);
			if (statSync(path).isDirectory()) walk(path);
			else if (/\.(ts|svelte)$/.test(name)) {
				// A code followed by the end of the value (not a type union such as `'a' | 'b'`).
				for (const m of readFileSync(path, 'utf8').matchAll(/\baction: '([a-z0-9_]+\.[a-z0-9_.]+)'(?=\s*[,}\n])/g)) found.add(m[1]);
			}
		}
	};
	for (const dir of dirs) walk(dir);
	return found;
}

describe('audit labels', () => {
	const literal = actionLiterals(['src/lib/server', 'src/routes', 'server']);
	// Pathway steps are audited as `patient.${action.kind}` (patients.ts).
	const pathway = Object.keys(ALLOWED_FROM).map((kind) => `patient.${kind}`);
	const codes = [...literal, ...pathway].sort();

	test('the scan finds the codes of the code base', () => {
		for (const code of ['patient.read', 'patient.list', 'rcp.started', 'auth.login', 'patient.exported', 'patient.renew']) expect(codes).toContain(code);
		expect(codes).not.toContain('network.view');
	});

	test('every audit action code has a French label and an English twin', () => {
		expect(codes.filter((code) => !Object.hasOwn(frAudit.audit.actions, code))).toEqual([]);
		expect(codes.filter((code) => !Object.hasOwn(enAudit.audit.actions, code))).toEqual([]);
		expect(Object.keys(enAudit.audit.actions).sort()).toEqual(Object.keys(frAudit.audit.actions).sort());
		expect(Object.keys(enAudit.audit.targets).sort()).toEqual(Object.keys(frAudit.audit.targets).sort());
	});

	test('labels are phrases, never codes', () => {
		for (const label of [...Object.values(frAudit.audit.actions), ...Object.values(frAudit.audit.targets)]) expect(label).not.toMatch(/\b[a-z]+[._][a-z_]+\b/);
		expect(auditActionLabel(frAudit, 'patient.read')).toBe('Consultation du dossier patient');
		expect(auditActionLabel(frAudit, 'rcp.started')).toBe('RCP démarrée');
		expect(auditActionLabel(enAudit, 'rcp.started')).toBe('Meeting started');
		expect(auditTargetLabel(frAudit, 'rcp_session')).toBe('RCP');
	});

	test('an unknown code falls back to a generic French label', () => {
		for (const code of ['patient.teleported', 'constructor', '__proto__', 'toString', '']) {
			expect(auditActionLabel(frAudit, code)).toBe(frAudit.audit.unknownAction);
			expect(auditTargetLabel(frAudit, code)).toBe(frAudit.audit.unknownTarget);
		}
		expect(frAudit.audit.unknownAction).not.toContain('.');
	});
});
