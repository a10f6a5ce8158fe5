// The browser's single socket.io connection (cookie-authenticated by the server).
import { io, type Socket } from 'socket.io-client';

let socket: Socket | undefined;

export function getSocket(): Socket {
	// WebSocket only: long-polling's successive requests would reach different app processes behind
	// a load balancer without sticky sessions (README, "Deployment"); the Yjs editors need websockets anyway.
	socket ??= io({ path: '/socket.io', withCredentials: true, transports: ['websocket'] });
	return socket;
}
