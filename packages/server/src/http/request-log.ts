import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';

/**
 * Fastify's two lines per request ("incoming request", "request completed", both at info) are
 * skipped without touching the request's logger when the server logs above info: building their
 * arguments only for the logger to drop them was about 9% of a small answer's CPU. The level is
 * read once, at start (Gatehouse never changes it while running). A response that failed on its
 * way out is still logged, at error, whatever the level. `completed` sees every request once its
 * response has gone, where an onResponse hook would (the metrics' requestObserver).
 */
export class RequestLogLines extends LogController {
  constructor(
    private readonly infoEnabled: boolean,
    private readonly completed?: (request: FastifyRequest, reply: FastifyReply) => void,
  ) {
    super();
  }

  override incomingRequest(request: FastifyRequest, reply: FastifyReply): void {
    if (this.infoEnabled) super.incomingRequest(request, reply);
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    this.completed?.(request, reply);
    if (this.infoEnabled || error) super.requestCompleted(error, request, reply);
  }
}
