// A Y.Text shared through the server's y-websocket endpoint and bound to a <textarea>.
// Local typing becomes minimal Yjs edits (common prefix/suffix diff); remote edits update the
// textarea while keeping the caret where it was, relative to the text around it.
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';

export type SyncStatus = 'connecting' | 'connected' | 'offline';

export function sharedText(docName: string, field = 'notes') {
	const doc = new Y.Doc();
	const text = doc.getText(field);
	const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/yjs`;
	const provider = new WebsocketProvider(url, docName, doc, { maxBackoffTime: 5000 });
	let status = $state<SyncStatus>('connecting');
	let synced = $state(false);
	let value = $state('');
	let area: HTMLTextAreaElement | undefined;

	// The server's "stored" acknowledgements (type 100): the team notes need no save indicator.
	provider.messageHandlers[100] = () => {};
	provider.on('status', (e: { status: string }) => {
		status = e.status === 'connected' ? 'connected' : e.status === 'connecting' ? 'connecting' : 'offline';
	});
	provider.on('sync', (isSynced: boolean) => {
		synced = isSynced;
	});

	text.observe((event) => {
		const next = text.toString();
		if (event.transaction.local || !area) {
			value = next;
			return;
		}
		// Re-map the caret through the remote change.
		let selStart = area.selectionStart;
		let selEnd = area.selectionEnd;
		let index = 0;
		for (const op of event.delta) {
			if (op.retain) index += op.retain;
			else if (op.insert) {
				const len = typeof op.insert === 'string' ? op.insert.length : 1;
				if (index <= selStart) selStart += len;
				if (index < selEnd) selEnd += len;
				index += len;
			} else if (op.delete) {
				if (index < selStart) selStart -= Math.min(op.delete, selStart - index);
				if (index < selEnd) selEnd -= Math.min(op.delete, selEnd - index);
			}
		}
		value = next;
		area.value = next;
		area.setSelectionRange(selStart, selEnd);
	});

	function onInput(e: Event) {
		area = e.currentTarget as HTMLTextAreaElement;
		const next = area.value;
		const prev = text.toString();
		let start = 0;
		while (start < prev.length && start < next.length && prev[start] === next[start]) start++;
		let endPrev = prev.length;
		let endNext = next.length;
		while (endPrev > start && endNext > start && prev[endPrev - 1] === next[endNext - 1]) {
			endPrev--;
			endNext--;
		}
		doc.transact(() => {
			if (endPrev > start) text.delete(start, endPrev - start);
			if (endNext > start) text.insert(start, next.slice(start, endNext));
		});
	}

	return {
		get status() {
			return status;
		},
		get synced() {
			return synced;
		},
		get value() {
			return value;
		},
		bind(element: HTMLTextAreaElement) {
			area = element;
		},
		onInput,
		destroy() {
			provider.destroy();
			doc.destroy();
		}
	};
}
