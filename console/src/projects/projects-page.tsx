import { useState } from 'preact/hooks';
import { api, query } from '../api';
import { when } from '../format';
import { href } from '../router';
import type { Project } from '../types';
import { ErrorBox, MoreButton, Section, useAction, usePaged } from '../ui';

/** The projects I collaborate on (every project for an admin), search, and a new project. */
export function ProjectsPage() {
  const [search, setSearch] = useState('');
  const [applied, setApplied] = useState('');
  const projects = usePaged(
    (cursor) =>
      api<{ projects: (Project & { role?: string })[]; nextCursor: string | null }>(
        'GET',
        `/v1/projects${query({ limit: 100, q: applied, cursor })}`,
      ).then((a) => ({ items: a.data.projects, nextCursor: a.data.nextCursor })),
    [applied],
  );
  const [name, setName] = useState('');
  const create = useAction();
  const submit = (event: Event) => {
    event.preventDefault();
    void create.run(async () => {
      const { data } = await api<Project>('POST', '/v1/projects', {
        body: { name: name.trim() },
        headers: { 'Idempotency-Key': crypto.randomUUID() },
      });
      location.hash = href('projects', data.id);
    });
  };
  return (
    <>
      <h1>Projects and deployments</h1>
      <Section title="New project" id="new-project">
        <form class="inline-form" onSubmit={submit}>
          <div class="field">
            <label for="project-name">Project name</label>
            <input
              id="project-name"
              required
              value={name}
              onInput={(e) => setName((e.target as HTMLInputElement).value)}
            />
          </div>
          <button type="submit" class="primary" disabled={create.busy}>
            Create project
          </button>
        </form>
        <ErrorBox error={create.error} />
      </Section>
      <Section title="My projects" id="projects">
        <form
          class="inline-form"
          role="search"
          onSubmit={(e) => {
            e.preventDefault();
            setApplied(search.trim());
          }}
        >
          <div class="field">
            <label for="project-search">Search projects</label>
            <input
              id="project-search"
              type="search"
              value={search}
              onInput={(e) => setSearch((e.target as HTMLInputElement).value)}
            />
          </div>
          <button type="submit">Search</button>
        </form>
        <ErrorBox error={projects.error} />
        {projects.data?.length === 0 && <p>No projects.</p>}
        <ul class="plain list">
          {projects.data?.map((project) => (
            <li key={project.id}>
              <a href={href('projects', project.id)}>{project.name}</a>{' '}
              <span class="muted">
                {project.role ? `${project.role} · ` : ''}created {when(project.createdAt)}
              </span>
            </li>
          ))}
        </ul>
        <MoreButton paged={projects} what="projects" />
      </Section>
    </>
  );
}
