/** Where the S3 blob store's settings come from: `--blobs s3://…`, config keys, MARINA_ variables, then AWS_ and S3_ ones. */
import { describe, expect, test } from 'bun:test';
import { serveConfig } from '../../src/cli/serve.ts';
import { parseBlobsLocation, s3BlobStoreOptions } from '../../src/storage/s3-config.ts';

describe('S3 blob settings', () => {
  test('an s3:// location splits into bucket and prefix, slashes trimmed', () => {
    expect(parseBlobsLocation('s3://registry-blobs')).toEqual({ bucket: 'registry-blobs', prefix: '' });
    expect(parseBlobsLocation('s3://registry-blobs/team/marina/')).toEqual({ bucket: 'registry-blobs', prefix: 'team/marina' });
  });

  test('a location that is not s3://, an invalid bucket or a dot segment is refused with the reason', () => {
    expect(() => parseBlobsLocation('file:///srv/blobs')).toThrow('s3://bucket');
    expect(() => parseBlobsLocation('s3://Bad_Bucket/x')).toThrow('not a valid S3 bucket name');
    expect(() => parseBlobsLocation('s3://bucket/a/../b')).toThrow('"." or ".."');
    expect(() => parseBlobsLocation(`s3://bucket/${'a'.repeat(2000)}`)).toThrow('s3://bucket');
  });

  test('explicit settings win over AWS_* variables, which win over S3_* ones', () => {
    const env = {
      AWS_ACCESS_KEY_ID: 'aws-key', AWS_SECRET_ACCESS_KEY: 'aws-secret', AWS_REGION: 'eu-west-1',
      S3_ACCESS_KEY_ID: 's3-key', S3_SECRET_ACCESS_KEY: 's3-secret', S3_ENDPOINT: 'http://127.0.0.1:8333', AWS_SESSION_TOKEN: 'tok',
    };
    const options = s3BlobStoreOptions('s3://bkt1/p', { region: 'us-west-2' }, env);
    expect(options).toMatchObject({ bucket: 'bkt1', prefix: 'p', accessKeyId: 'aws-key', secretAccessKey: 'aws-secret', region: 'us-west-2', endpoint: 'http://127.0.0.1:8333', sessionToken: 'tok' });
    expect(s3BlobStoreOptions('s3://bkt1', {}, { S3_ACCESS_KEY_ID: 'k', S3_SECRET_ACCESS_KEY: 's' })).toMatchObject({ accessKeyId: 'k', region: 'us-east-1', endpoint: undefined });
  });

  test('missing credentials fail at start-up with what to set', () => {
    expect(() => s3BlobStoreOptions('s3://bkt1', {}, {})).toThrow('AWS_ACCESS_KEY_ID');
  });

  test('--blobs and the --s3-* flags, MARINA_BLOBS and the config keys reach the server configuration', () => {
    const fromFlags = serveConfig(['--blobs', 's3://bkt1/reg', '--s3-endpoint', 'http://127.0.0.1:8333', '--s3-region', 'r1', '--s3-part-size', '16MiB', '--s3-redirect'], {});
    expect(fromFlags).toMatchObject({ blobs: 's3://bkt1/reg', s3Endpoint: 'http://127.0.0.1:8333', s3Region: 'r1', s3PartSize: 16 * 1024 * 1024, s3Redirect: true });
    expect(serveConfig([], { MARINA_BLOBS: 's3://bkt2', MARINA_S3_REDIRECT: 'true' })).toMatchObject({ blobs: 's3://bkt2', s3Redirect: true });
    expect(serveConfig([], {})).not.toHaveProperty('blobs');
  });

  test('a part size under S3\'s 5 MiB minimum is refused by name', () => {
    expect(() => serveConfig(['--blobs', 's3://bkt1', '--s3-part-size', '1MiB'], {})).toThrow('s3PartSize');
  });
});
