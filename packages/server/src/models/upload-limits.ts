/** Largest chunk of a streamed upload (the wire contract: chunks of at most 1 MiB). */
export const MAX_CHUNK_BYTES = 1024 * 1024;

/**
 * Largest single message of the upload stream connect will buffer: a 1 MiB chunk plus room
 * for the header (name and allow-list). Anything bigger is refused before it is parsed.
 */
export const MAX_UPLOAD_MESSAGE_BYTES = MAX_CHUNK_BYTES + 64 * 1024;

/** Longest model name. */
export const MAX_MODEL_NAME_LENGTH = 128;

/** Most identities in one allow-list. */
export const MAX_ALLOW_ENTRIES = 1000;
