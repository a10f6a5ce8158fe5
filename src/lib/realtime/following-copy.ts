// A read-only viewer's rich-text editors render a copy of the shared document that follows it one
// way. y-prosemirror writes back into its Yjs type whatever the editor renders differently from it
// (ProseMirror normalising content written by the server, such as the demo's plans), on any redraw,
// other people's carets included, even when the editor is not editable. In the copy, those writes
// stay local: they never reach the server, which would drop them, and never make the viewer's
// « Enregistré » false for good.
import * as Y from 'yjs';

export function followingCopy(doc: Y.Doc): { copy: Y.Doc; destroy(): void } {
	const copy = new Y.Doc();
	Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc));
	const follow = (update: Uint8Array) => Y.applyUpdate(copy, update);
	doc.on('update', follow);
	return {
		copy,
		destroy() {
			doc.off('update', follow);
			copy.destroy();
		}
	};
}
