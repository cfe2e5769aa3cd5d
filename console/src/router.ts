import { useEffect, useState } from 'preact/hooks';

/** Pages live in the URL fragment (`#/me`, `#/projects/prj_…`), so the server serves one page for all. */
export interface Route {
  page: string;
  id?: string;
}

export function parseRoute(hash: string): Route {
  const [page = 'me', id] = hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  return { page: page || 'me', id: id || undefined };
}

export const href = (page: string, id?: string): string => `#/${page}${id ? `/${encodeURIComponent(id)}` : ''}`;

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const update = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  return route;
}
