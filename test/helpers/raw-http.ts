import net from 'node:net';

export interface RawResponse {
  readonly status: number;
  /** Header names lower-cased. */
  readonly headers: Record<string, string>;
  readonly body: string;
}

/**
 * Sends `bytes` as they are on a fresh loopback connection and reads the first HTTP response: requests that
 * no HTTP client library would send (broken request lines, bad escapes, oversized headers). Resolves
 * `undefined` when the server closes the connection without answering or nothing arrives within `timeoutMs`.
 */
export function rawRequest(port: number, bytes: Buffer | string, timeoutMs = 15_000): Promise<RawResponse | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (response: RawResponse | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(response);
    };
    const timer = setTimeout(() => finish(parse(Buffer.concat(chunks), true)), timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      const response = parse(Buffer.concat(chunks), false);
      if (response) finish(response);
    });
    socket.on('error', () => finish(parse(Buffer.concat(chunks), true)));
    socket.on('close', () => finish(parse(Buffer.concat(chunks), true)));
    socket.write(bytes);
  });
}

/** One response from the start of `data`: complete once Content-Length bytes of body arrived (or at close). */
function parse(data: Buffer, closed: boolean): RawResponse | undefined {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine = '', ...lines] = data.subarray(0, end).toString('latin1').split('\r\n');
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  if (!match) return undefined;
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const body = data.subarray(end + 4);
  const length = headers['content-length'] === undefined ? undefined : Number(headers['content-length']);
  const chunkedDone = headers['transfer-encoding'] === 'chunked' && body.subarray(-5).toString('latin1') === '0\r\n\r\n';
  if (length !== undefined ? body.length < length : !closed && !chunkedDone) return undefined;
  return { status: Number(match[1]), headers, body: body.subarray(0, length ?? body.length).toString('utf8') };
}
