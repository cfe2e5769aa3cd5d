import { useEffect, useState } from 'preact/hooks';
import { api, seg } from '../api';
import { useRecordedEvents } from '../events';
import { when } from '../format';
import type { Confirmation } from '../types';
import { ErrorBox, Section, useLoad } from '../ui';

interface RecentReduction {
  eventId: string;
  type: string;
  keyId: string | null;
  committedAt: string | null;
  appliedAt: string;
}

const POLL_MS = 1000;

/**
 * Revocations: the latest access-reducing events (`GET /v1/revocations`, from the replica that answers), those
 * committed from this console, or any event id; and per authz replica when it applied the one followed, live
 * from `GET /v1/revocations/{eventId}` until every replica has.
 */
export function Revocations() {
  const events = useRecordedEvents();
  const latest = useLoad(() =>
    api<{ revocations: RecentReduction[] }>('GET', '/v1/revocations?limit=20').then((a) => a.data.revocations),
  );
  const [eventId, setEventId] = useState(events[0]?.eventId ?? '');
  const [followed, setFollowed] = useState(events[0]?.eventId ?? '');
  return (
    <Section title="Revocations" id="revocations">
      <h3>Latest access-reducing events</h3>
      <ErrorBox error={latest.error} />
      {latest.data?.length === 0 && <p>None since this authz replica started.</p>}
      {latest.data && latest.data.length > 0 && (
        <div class="table-wrap">
          <table>
            <caption class="sr-only">Latest access-reducing events</caption>
            <thead>
              <tr>
                <th scope="col">Event</th>
                <th scope="col">Key</th>
                <th scope="col">Committed</th>
                <th scope="col">Applied here</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {latest.data.map((r) => (
                <tr key={r.eventId}>
                  <th scope="row">
                    {r.type}
                    <br />
                    <code class="muted">{r.eventId}</code>
                  </th>
                  <td>{r.keyId ? <code>{r.keyId}</code> : '—'}</td>
                  <td>{when(r.committedAt)}</td>
                  <td>{when(r.appliedAt)}</td>
                  <td>
                    <button
                      type="button"
                      aria-label={`Follow ${r.type} ${r.eventId}`}
                      aria-pressed={followed === r.eventId}
                      onClick={() => setFollowed(r.eventId)}
                    >
                      Follow
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <button type="button" onClick={latest.reload}>
        Reload the latest
      </button>
      <h3>From this console</h3>
      {events.length > 0 ? (
        <ul class="plain list">
          {events.map((event) => (
            <li key={event.eventId}>
              <button
                type="button"
                class="link"
                onClick={() => setFollowed(event.eventId)}
                aria-pressed={followed === event.eventId}
              >
                {event.what}
              </button>{' '}
              <span class="muted">
                {when(event.at)} · <code>{event.eventId}</code>
              </span>
            </li>
          ))}
        </ul>
      ) : (
        <p>No access-reducing change from this console yet in this session. Follow any event by its id:</p>
      )}
      <form
        class="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          setFollowed(eventId.trim());
        }}
      >
        <div class="field">
          <label for="event-id">Event id (from a write’s Tollgate-Event-Id header)</label>
          <input
            id="event-id"
            placeholder="evt_…"
            value={eventId}
            onInput={(e) => setEventId((e.target as HTMLInputElement).value)}
          />
        </div>
        <button type="submit">Follow</button>
      </form>
      {followed && <ConfirmationView key={followed} eventId={followed} />}
    </Section>
  );
}

function ConfirmationView({ eventId }: { eventId: string }) {
  const [confirmation, setConfirmation] = useState<Confirmation | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = () =>
      api<Confirmation>('GET', `/v1/revocations/${seg(eventId)}`).then(
        ({ data }) => {
          if (!live) return;
          setConfirmation(data);
          setError(undefined);
          if (!data.appliedByAll) timer = setTimeout(() => void poll(), POLL_MS);
        },
        (err: unknown) => live && setError(err),
      );
    void poll();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [eventId]);
  return (
    <div class="confirmation" aria-live="polite">
      <ErrorBox error={error} />
      {confirmation && (
        <>
          <p>
            <code>{confirmation.eventId}</code> committed {when(confirmation.committedAt)}:{' '}
            <strong data-testid="applied-by-all">
              {confirmation.appliedByAll ? 'applied by every replica' : 'waiting for replicas…'}
            </strong>
          </p>
          <div class="table-wrap">
            <table>
              <caption class="sr-only">Replicas</caption>
              <thead>
                <tr>
                  <th scope="col">Replica</th>
                  <th scope="col">Applied at</th>
                  <th scope="col">Lag</th>
                </tr>
              </thead>
              <tbody>
                {confirmation.replicas.map((r) => (
                  <tr key={r.replicaId}>
                    <th scope="row">
                      <code>{r.replicaId}</code>
                    </th>
                    <td>{r.appliedAt ? when(r.appliedAt) : 'not yet'}</td>
                    <td>{r.lagMs === null ? '—' : `${r.lagMs} ms`}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </div>
  );
}
