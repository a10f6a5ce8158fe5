// "Who is here" after a reconnection. When its connection drops, the y-websocket client removes
// every peer's awareness state but keeps each peer's clock; on reconnection the server sends the
// peers' states with those same clocks, which y-protocols ignores as not newer. Peers then stayed
// invisible until their next change or renewal (up to 15 s), for instance after the app process
// serving this editor died and it reconnected to another. Forgetting the clocks with the states
// makes the server's answer count.
import type { WebsocketProvider } from 'y-websocket';

export function rememberPeersAcrossReconnections(provider: WebsocketProvider): void {
	provider.on('status', ({ status }: { status: string }) => {
		if (status !== 'disconnected') return;
		for (const clientId of [...provider.awareness.meta.keys()]) {
			if (clientId !== provider.awareness.clientID && !provider.awareness.states.has(clientId)) provider.awareness.meta.delete(clientId);
		}
	});
}
