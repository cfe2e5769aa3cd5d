import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { importClosure, pinnedVersions, PROTO_DIR, protoFiles } from '../deploy/envoy/vendor-protos.mjs';

describe("Envoy's vendored .proto files (deploy/envoy/proto)", () => {
  it('hold exactly the import closure of the ext_authz service, so nothing is missing or unused', async () => {
    const closure = await importClosure(PROTO_DIR);
    expect(closure).toContain('envoy/service/auth/v3/external_auth.proto');
    expect(protoFiles(PROTO_DIR)).toEqual(closure);
  });

  it('name the versions deploy/envoy/pom.xml pins, and ship the licence texts', async () => {
    const readme = readFileSync(join(PROTO_DIR, 'README.md'), 'utf8');
    const versions = await pinnedVersions();
    expect(Object.keys(versions).sort()).toEqual(['envoy.api.version', 'protobuf.version']);
    for (const [name, version] of Object.entries(versions)) expect(readme).toContain(`${name} ${version}`);
    for (const licence of readme.matchAll(/\((LICENSE-[^)]+)\)/g)) {
      expect(readFileSync(join(PROTO_DIR, licence[1]), 'utf8')).toMatch(/Redistribution|Apache License/);
    }
    expect([...readme.matchAll(/\((LICENSE-[^)]+)\)/g)]).toHaveLength(2);
  });
});
