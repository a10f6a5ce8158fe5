// What the server answers, shared with the pages that react to it.

/**
 * An event refused because its person already has many waiting in the process (see `on` in
 * server/realtime/socket.ts): nothing ran, so the same request may simply go again a little later.
 */
export const TOO_MANY_EVENTS = 'Trop de demandes à la fois : réessayez dans un instant.';
