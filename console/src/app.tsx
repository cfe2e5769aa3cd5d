import { useEffect, useState } from 'preact/hooks';
import { AdminPage } from './admin/admin-page';
import { session } from './api';
import { forgetEvents } from './events';
import { MePage } from './me/me-page';
import { DeploymentPage } from './projects/deployment-page';
import { ProjectPage } from './projects/project-page';
import { ProjectsPage } from './projects/projects-page';
import { href, useRoute } from './router';
import { SignIn } from './signin';
import type { Me } from './types';

export function App() {
  const [me, setMe] = useState<Me | undefined>(undefined);
  const route = useRoute();
  useEffect(() => session.onChange(() => session.credential === undefined && setMe(undefined)), []);

  if (!me || !session.credential) return <SignIn onSignedIn={setMe} />;

  const signOut = () => {
    forgetEvents();
    session.signOut();
    history.replaceState(null, '', '/console/');
  };
  const page = (() => {
    switch (route.page) {
      case 'projects':
        return route.id ? <ProjectPage projectId={route.id} /> : <ProjectsPage />;
      case 'deployments':
        return route.id ? <DeploymentPage deploymentId={route.id} /> : <ProjectsPage />;
      case 'admin':
        return me.admin ? <AdminPage /> : <p>Only Tollgate admins see this page.</p>;
      default:
        return <MePage me={me} onMeChanged={setMe} />;
    }
  })();
  const current = (name: string) =>
    route.page === name || (name === 'projects' && route.page === 'deployments') ? 'page' : undefined;
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Tollgate</span>
        <nav aria-label="Console">
          <a href={href('me')} aria-current={current('me') ?? (route.page === '' ? 'page' : undefined)}>
            Me
          </a>
          <a href={href('projects')} aria-current={current('projects')}>
            Projects
          </a>
          {me.admin && (
            <a href={href('admin')} aria-current={current('admin')}>
              Admin
            </a>
          )}
        </nav>
        <span class="who">
          {me.name}
          <button type="button" onClick={signOut}>
            Sign out
          </button>
        </span>
      </header>
      <main id="main" tabIndex={-1}>
        {page}
      </main>
    </>
  );
}
