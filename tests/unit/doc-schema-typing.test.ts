// typesPlainText lets the Yjs server apply typing without a trial replica. It may say "not sure"
// too often, never "fine" for an update the replica would refuse: every case below is also checked
// on a replica with checkChanges, as the server does when unsure.
import { describe, expect, test } from 'vitest';
import * as Y from 'yjs';
import { checkChanges, defineRoots, typesPlainText, type DocSchema } from '../../src/lib/realtime/doc-schema.ts';

const schema: DocSchema = {
	roots: {
		notes: { kind: 'text', max: 20 },
		long: { kind: 'text', max: 5000 },
		fields: { kind: 'map', fields: { title: { kind: 'text', max: 10 }, status: { kind: 'string', max: 10, values: ['ouvert', 'clos'] } } },
		items: { kind: 'list', maxItems: 3, fields: { label: { kind: 'text', max: 10 }, owner: { kind: 'string', max: 20 } } },
		body: { kind: 'prose', maxChars: 30, maxNodes: 10, nodes: ['paragraph'] }
	},
	maxBytes: 100_000
};

/**
 * The server's copy; `edit` makes a change in a client that has exactly what the server has and
 * returns the update it would send (`client` is the one that prepared the document).
 */
function setup(prepare?: (client: Y.Doc) => void) {
	const server = new Y.Doc();
	defineRoots(server, schema);
	const client = new Y.Doc();
	defineRoots(client, schema);
	if (prepare) {
		client.transact(() => prepare(client));
		Y.applyUpdate(server, Y.encodeStateAsUpdate(client));
	}
	const edit = (change: (client: Y.Doc) => void, from = new Y.Doc()) => {
		if (from !== client) {
			defineRoots(from, schema);
			Y.applyUpdate(from, Y.encodeStateAsUpdate(server));
		}
		const updates: Uint8Array[] = [];
		const take = (u: Uint8Array) => updates.push(u);
		from.on('update', take);
		from.transact(() => change(from));
		from.off('update', take);
		return Y.mergeUpdates(updates);
	};
	return { server, client, edit };
}

/** What the server's trial would say of the update: null when accepted. */
function onReplica(server: Y.Doc, update: Uint8Array): string | null {
	const replica = new Y.Doc();
	defineRoots(replica, schema);
	Y.applyUpdate(replica, Y.encodeStateAsUpdate(server));
	let problem: string | null = null;
	replica.on('afterTransaction', (t: Y.Transaction) => (problem ??= checkChanges(replica, t.changed, schema)));
	Y.applyUpdate(replica, update);
	return problem;
}

/** The fast answer, checked against the replica's whenever it says "fine". */
function fast(server: Y.Doc, update: Uint8Array): boolean {
	const plain = typesPlainText(server, update, schema);
	if (plain) expect(onReplica(server, update)).toBeNull();
	return plain;
}

function record(label: string): Y.Map<unknown> {
	const m = new Y.Map<unknown>();
	m.set('id', crypto.randomUUID());
	m.set('label', new Y.Text(label));
	return m;
}

function paragraph(text: string): Y.XmlElement {
	const p = new Y.XmlElement('paragraph');
	p.insert(0, [new Y.XmlText(text)]);
	return p;
}

describe('typing needs no trial', () => {
	test('into a text root, a map text field, a list record text field and rich text, within bounds', () => {
		const { server, edit } = setup((c) => {
			c.getText('notes').insert(0, 'abc');
			c.getMap('fields').set('title', new Y.Text('t'));
			c.getArray('items').push([record('x')]);
			c.getXmlFragment('body').insert(0, [paragraph('hello')]);
		});
		expect(fast(server, edit((c) => c.getText('notes').insert(3, 'def')))).toBe(true);
		expect(fast(server, edit((c) => (c.getMap('fields').get('title') as Y.Text).insert(1, 'itre')))).toBe(true);
		expect(fast(server, edit((c) => ((c.getArray('items').get(0) as Y.Map<unknown>).get('label') as Y.Text).insert(0, 'ab')))).toBe(true);
		const body = (c: Y.Doc) => (c.getXmlFragment('body').get(0) as Y.XmlElement).get(0) as Y.XmlText;
		expect(fast(server, edit((c) => body(c).insert(5, ' world')))).toBe(true);
	});

	test('keystrokes one after another, each applied before the next, and deletions', () => {
		const { server, client, edit } = setup((c) => c.getText('notes').insert(0, 'a'));
		for (const ch of 'bcdefg') {
			const u = edit((c) => c.getText('notes').insert(c.getText('notes').length, ch), client);
			expect(fast(server, u)).toBe(true);
			Y.applyUpdate(server, u);
		}
		const del = edit((c) => c.getText('notes').delete(0, 3), client);
		expect(fast(server, del)).toBe(true);
		Y.applyUpdate(server, del);
		expect(server.getText('notes').toString()).toBe('defg');
	});

	test('typing from another editor, interleaved, is placed by its origins', () => {
		const { server, client, edit } = setup((c) => c.getText('notes').insert(0, 'hello'));
		const other = new Y.Doc();
		defineRoots(other, schema);
		Y.applyUpdate(other, Y.encodeStateAsUpdate(client));
		const mine = edit((c) => c.getText('notes').insert(5, '!'), client);
		const theirs: Uint8Array[] = [];
		other.on('update', (u: Uint8Array) => theirs.push(u));
		other.getText('notes').insert(0, '> ');
		expect(fast(server, mine)).toBe(true);
		Y.applyUpdate(server, mine);
		expect(fast(server, theirs[0])).toBe(true);
	});
});

describe('anything else goes through the trial', () => {
	test('text beyond its bound, even as one of several inserts', () => {
		const { server, edit } = setup((c) => {
			c.getText('notes').insert(0, 'x'.repeat(18));
			c.getMap('fields').set('title', new Y.Text('123456789'));
			c.getArray('items').push([record('123456789')]);
			c.getXmlFragment('body').insert(0, [paragraph('x'.repeat(29))]);
		});
		const tooLong = edit((c) => c.getText('notes').insert(0, 'abc'));
		expect(typesPlainText(server, tooLong, schema)).toBe(false);
		expect(onReplica(server, tooLong)).not.toBeNull();
		expect(fast(server, edit((c) => (c.getMap('fields').get('title') as Y.Text).insert(0, 'ab')))).toBe(false);
		expect(fast(server, edit((c) => ((c.getArray('items').get(0) as Y.Map<unknown>).get('label') as Y.Text).insert(0, 'ab')))).toBe(false);
		// A second paragraph's text counts with the first's.
		expect(fast(server, edit((c) => ((c.getXmlFragment('body').get(0) as Y.XmlElement).get(0) as Y.XmlText).insert(0, 'ab')))).toBe(false);
	});

	test('new records, new types, values and formatting', () => {
		const { server, edit } = setup((c) => {
			c.getArray('items').push([record('a')]);
			c.getXmlFragment('body').insert(0, [paragraph('hello')]);
		});
		expect(fast(server, edit((c) => c.getArray('items').push([record('b')])))).toBe(false);
		expect(fast(server, edit((c) => c.getMap('fields').set('status', 'clos')))).toBe(false);
		expect(fast(server, edit((c) => c.getMap('fields').set('title', new Y.Text('new'))))).toBe(false);
		expect(fast(server, edit((c) => c.getXmlFragment('body').insert(1, [paragraph('more')])))).toBe(false);
		expect(fast(server, edit((c) => ((c.getXmlFragment('body').get(0) as Y.XmlElement).get(0) as Y.XmlText).format(0, 2, { bold: true })))).toBe(false);
	});

	test('what the schema refuses: an unknown root, a text where a value belongs, a map entry as a string', () => {
		const { server, edit } = setup((c) => c.getMap('fields').set('status', 'ouvert'));
		const unknown = edit((c) => c.getText('ailleurs').insert(0, 'x'));
		expect(typesPlainText(server, unknown, schema)).toBe(false);
		expect(onReplica(server, unknown)).not.toBeNull();
		const textValue = edit((c) => c.getMap('fields').set('status', new Y.Text('ouvert')));
		expect(typesPlainText(server, textValue, schema)).toBe(false);
		expect(onReplica(server, textValue)).not.toBeNull();
	});

	test('text under a record since deleted, and an update whose dependency the server lacks', () => {
		const { server, client, edit } = setup((c) => c.getArray('items').push([record('a')]));
		const deleted = new Y.Doc();
		defineRoots(deleted, schema);
		Y.applyUpdate(deleted, Y.encodeStateAsUpdate(server));
		deleted.getArray('items').delete(0, 1);
		const label = (c: Y.Doc) => (c.getArray('items').get(0) as Y.Map<unknown>).get('label') as Y.Text;
		const typed = edit((c) => label(c).insert(1, 'b'), client);
		expect(fast(deleted, typed)).toBe(false);
		// The server misses the client's previous keystroke: this one would wait for it.
		const next = edit((c) => label(c).insert(2, 'c'), client);
		expect(fast(server, next)).toBe(false);
		expect(client.getArray('items').length).toBe(1);
	});

	test('an update of many structs, even within bounds (a crafted one would take seconds to look through)', () => {
		const { server, client, edit } = setup((c) => c.getText('long').insert(0, 'x'));
		// Inserted at the start one by one, the letters stay separate structs.
		const many = edit((c) => {
			for (let i = 0; i < 300; i++) c.getText('long').insert(0, 'a');
		}, client);
		expect(typesPlainText(server, many, schema)).toBe(false);
		expect(onReplica(server, many)).toBeNull();
		const few = edit((c) => {
			for (let i = 0; i < 10; i++) c.getText('long').insert(0, 'b');
		}, client);
		Y.applyUpdate(server, many);
		expect(fast(server, few)).toBe(true);
	});

	test('bytes that are not an update', () => {
		const { server } = setup();
		expect(typesPlainText(server, new Uint8Array([1, 200, 3, 4, 5]), schema)).toBe(false);
	});
});
