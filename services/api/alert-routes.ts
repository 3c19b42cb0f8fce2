import { validate } from '@spendline/emitter/field-issues';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AckStore } from '../alerts/ack-store.ts';
import type { AlertEvent } from '../alerts/alert-event.ts';
import { scopeWithin } from '../alerts/alert-scope.ts';
import type { AlertStore, StoredDelivery } from '../alerts/alert-store.ts';
import { silenceActive, silenceCovers, type Silence, type SilenceStore } from '../alerts/silence-store.ts';
import { clickHouseTimeToIso } from '../clickhouse/clickhouse.ts';
import { acknowledgeBody, alertListFilter, alertListQuery, parseAlertListQuery, silenceBody, silenceListQuery, silenceWindow } from './alert-parameters.ts';
import { HttpError, invalidRequest } from './http-errors.ts';
import { actorOf } from './request-actor.ts';

export interface AlertRouteDeps {
  readonly alerts: AlertStore;
  readonly silences: SilenceStore;
  readonly acks: AckStore;
  /** What to show around an alert in its detail (a detector's series around it); absent: no context. */
  readonly context?: (alert: AlertEvent) => Promise<unknown>;
}

const iso = (epochMs: number) => new Date(epochMs).toISOString();

/** An alert as the API shows it: times in RFC 3339. */
export function alertJson(alert: AlertEvent): Record<string, unknown> {
  return { ...alert, occurred_at: iso(alert.occurred_at), period_start: iso(alert.period_start), period_end: iso(alert.period_end), since: alert.since === null ? null : iso(alert.since) };
}

export function silenceJson(silence: Silence, now: number): Record<string, unknown> {
  return {
    ...silence,
    starts_at: iso(silence.starts_at),
    ends_at: iso(silence.ends_at),
    created_at: iso(silence.created_at),
    cancelled_at: silence.cancelled_at === null ? null : iso(silence.cancelled_at),
    active: silenceActive(silence, now),
  };
}

const deliveryJson = (delivery: StoredDelivery) => ({ ...delivery, delivered_at: clickHouseTimeToIso(delivery.delivered_at) });

const ID_HELP = "alert ids contain '/': send one URL-encoded in a single path segment, e.g. /v1/alerts/budget%2Fsearch-prod%2F2026-11%2Factual-80";

/**
 * Alerts over HTTP: the list with filters (reader), one alert with its
 * history, deliveries, acknowledgements and silences (reader), acknowledging
 * (reader: whoever is on call), and silences (admin). A team- or
 * tenant-scoped reader sees only alerts whose scope lies within its rows.
 */
export function registerAlertRoutes(app: FastifyInstance, deps: AlertRouteDeps): void {
  /** The latest state of a visible alert, or a 404 saying how ids are sent. */
  const latestVisible = async (request: FastifyRequest, id: string): Promise<AlertEvent> => {
    const [latest] = await deps.alerts.latest({ ids: [id] });
    if (!latest || !scopeWithin(latest.scope, request.dataScope)) throw new HttpError(404, 'not_found', `no alert ${id} (${ID_HELP})`);
    return latest;
  };

  app.get('/v1/alerts', { config: { role: 'reader', docs: { tag: 'alerts', summary: 'Alerts (the latest state of each), newest first, with their acknowledgement and the silences in force over them', query: alertListQuery } } }, async (request) => {
    const query = parseAlertListQuery(request.query);
    if (!query.ok) throw invalidRequest(query.issues, 'invalid alert filters');
    const now = Date.now();
    const listed = await deps.alerts.list({ ...alertListFilter(query.value), access: request.dataScope });
    const [acks, active] = await Promise.all([deps.acks.latestFor(listed.map(({ alert }) => alert.alert_id)), deps.silences.active(now)]);
    return {
      alerts: listed.map(({ alert, firing_severity }) => {
        const silencedBy = active.filter((silence) => silenceCovers(silence, alert)).map((silence) => silence.silence_id);
        return { ...alertJson(alert), firing_severity, acknowledgement: acks.get(alert.alert_id) ?? null, silenced: silencedBy.length > 0, silenced_by: silencedBy };
      }),
    };
  });

  app.get<{ Params: { id: string } }>(
    '/v1/alerts/:id',
    {
      config: {
        role: 'reader',
        docs: {
          tag: 'alerts',
          summary: 'One alert: its latest state, every state with its deliveries, acknowledgements, the silences over it and the series around it',
          description: ID_HELP,
          errors: { 404: 'No such alert (or not within the rows your token may see)' },
        },
      },
    },
    async (request) => {
      const latest = await latestVisible(request, request.params.id);
      const now = Date.now();
      const [states, deliveries, acknowledgements, silences] = await Promise.all([
        deps.alerts.states(latest.alert_id),
        deps.alerts.deliveries([latest.alert_id]),
        deps.acks.history(latest.alert_id),
        deps.silences.list({ includeExpired: true }, now),
      ]);
      let context: Record<string, unknown> = {};
      if (deps.context) {
        try {
          context = { context: await deps.context(latest) };
        } catch (err) {
          // The alert is worth showing without its series: say what is missing rather than fail.
          request.log.warn({ err, alertId: latest.alert_id }, 'alert context failed');
          context = { context: null, context_error: 'the series around the alert could not be read; try again' };
        }
      }
      return {
        alert: alertJson(latest),
        // A state and its deliveries were recorded together, at the same instant.
        states: states.map(({ alert, recorded_at }) => ({
          ...alertJson(alert),
          recorded_at: clickHouseTimeToIso(recorded_at),
          deliveries: deliveries.filter((delivery) => delivery.state === alert.state && delivery.delivered_at === recorded_at).map(deliveryJson),
        })),
        acknowledgements,
        silences: silences.filter((silence) => silenceCovers(silence, latest)).map((silence) => silenceJson(silence, now)),
        ...context,
      };
    },
  );

  app.post<{ Params: { id: string } }>(
    '/v1/alerts/:id/acknowledge',
    {
      config: {
        role: 'reader',
        docs: { tag: 'alerts', summary: 'Say you are on an alert (who and when are recorded with your note)', description: ID_HELP, body: acknowledgeBody, errors: { 404: 'No such alert' } },
      },
    },
    async (request) => {
      const body = validate(acknowledgeBody, request.body);
      if (!body.ok) throw invalidRequest(body.issues, 'invalid acknowledgement');
      const alert = await latestVisible(request, request.params.id);
      return deps.acks.acknowledge(alert.alert_id, actorOf(request), body.value.note);
    },
  );

  app.post('/v1/admin/silences', { config: { role: 'admin', docs: { tag: 'alerts', summary: 'Silence alerts of a scope for a while: they are recorded, nobody is told', body: silenceBody, responses: { 201: 'Created: the silence' } } } }, async (request, reply) => {
    const body = validate(silenceBody, request.body);
    if (!body.ok) throw invalidRequest(body.issues, 'invalid silence');
    const now = Date.now();
    const window = silenceWindow(body.value, now);
    if (!window.ok) throw invalidRequest(window.issues, 'invalid silence');
    const silence = await deps.silences.create({ scope: body.value.scope, kinds: body.value.kinds ?? [], startsAt: window.value.startsAt, endsAt: window.value.endsAt, reason: body.value.reason, actor: actorOf(request) }, now);
    request.log.info({ silenceId: silence.silence_id, scope: silence.scope, kinds: silence.kinds, endsAt: iso(silence.ends_at), actor: silence.created_by }, 'silence created');
    return reply.status(201).send(silenceJson(silence, now));
  });

  app.get('/v1/admin/silences', { config: { role: 'admin', docs: { tag: 'alerts', summary: 'Silences in force or upcoming (include_expired=true: every silence ever made)', query: silenceListQuery } } }, async (request) => {
    const query = validate(silenceListQuery, request.query);
    if (!query.ok) throw invalidRequest(query.issues, 'invalid silence filters');
    const now = Date.now();
    return { silences: (await deps.silences.list({ includeExpired: query.value.include_expired }, now)).map((silence) => silenceJson(silence, now)) };
  });

  app.delete<{ Params: { id: string } }>('/v1/admin/silences/:id', { config: { role: 'admin', docs: { tag: 'alerts', summary: 'Lift a silence now: alerts of its scope reach their channels again', errors: { 404: 'No such silence' } } } }, async (request) => {
    const now = Date.now();
    const silence = await deps.silences.cancel(request.params.id, actorOf(request), now);
    if (!silence) throw new HttpError(404, 'not_found', `no silence ${request.params.id}`);
    request.log.info({ silenceId: silence.silence_id, actor: silence.cancelled_by }, 'silence lifted');
    return silenceJson(silence, now);
  });
}
