import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';

/**
 * Fastify's two lines per request ("incoming request", "request completed", both at info) are
 * skipped without touching the request's logger when the server logs above info: building their
 * arguments and asking the per-request logger cost a small answer more than the route itself.
 * A request that failed is still logged (at error) whatever the level allows.
 */
export class RequestLogLines extends LogController {
  constructor(private readonly infoEnabled: boolean) {
    super();
  }

  override incomingRequest(request: FastifyRequest, reply: FastifyReply): void {
    if (this.infoEnabled) super.incomingRequest(request, reply);
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.infoEnabled || error) super.requestCompleted(error, request, reply);
  }
}
