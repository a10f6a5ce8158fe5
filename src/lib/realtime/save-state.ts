// "Enregistré" that tells the truth. The server sends, after each commit to PostgreSQL, a snapshot
// of what it stores (state vector + deleted content, message 100): an edit counts as saved only
// once that snapshot contains it — insertions, deletions and formatting alike. A refused update
// (message 101) comes with the reason, in French.
import * as Y from 'yjs';
import * as decoding from 'lib0/decoding';
import type { WebsocketProvider } from 'y-websocket';

/** Ours: "stored up to this snapshot", sent once updates are committed to PostgreSQL. */
export const MESSAGE_STORED = 100;
/** Ours: "your update was refused" (with the reason); the connection is read-only from then on. */
export const MESSAGE_REFUSED = 101;

export interface SaveTracker {
	/** True when everything this replica holds beyond the server's last snapshot is nothing. */
	readonly saved: boolean;
	destroy(): void;
}

/**
 * Follows what this replica holds that the server has not said it stores: local edits, and what
 * was loaded from the browser's own storage (offline edits of an earlier visit). `onChange` is
 * called when that may have changed; `onRefused` when the server refuses an update.
 */
export function trackSaves(doc: Y.Doc, provider: WebsocketProvider, onChange: () => void, onRefused: (reason: string) => void = () => {}): SaveTracker {
	let unsaved: Uint8Array[] = [];
	let stored: Y.Snapshot | null = null;

	const onUpdate = (update: Uint8Array, origin: unknown) => {
		// Updates from the server are stored by definition (or will be acknowledged to their author).
		if (origin === provider) return;
		if (stored && Y.snapshotContainsUpdate(stored, update)) return;
		unsaved.push(update);
		onChange();
	};
	doc.on('update', onUpdate);

	provider.messageHandlers[MESSAGE_STORED] = (_encoder, decoder) => {
		stored = Y.decodeSnapshot(decoding.readVarUint8Array(decoder));
		if (unsaved.length > 0) {
			const merged = unsaved.length === 1 ? unsaved[0] : Y.mergeUpdates(unsaved);
			unsaved = Y.snapshotContainsUpdate(stored, merged) ? [] : [merged];
		}
		onChange();
	};
	provider.messageHandlers[MESSAGE_REFUSED] = (_encoder, decoder) => {
		onRefused(decoding.readVarString(decoder));
	};

	return {
		get saved() {
			return unsaved.length === 0;
		},
		destroy() {
			doc.off('update', onUpdate);
		}
	};
}
