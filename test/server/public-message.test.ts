import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dataLayout } from '../../src/config/layout.js';
import { serverPathRedactor } from '../../src/server/public-message.js';

describe('serverPathRedactor', () => {
  const redact = serverPathRedactor(dataLayout('/srv/app/persistent_data', { mlModels: '/opt/models' }), ['/srv/app']);

  it('makes paths in the data tree relative to it and names directories configured outside it by their own name', () => {
    assert.equal(
      redact('version v1: /srv/app/persistent_data/scalers/nvda/v1.json does not match; /opt/models/nvda_lstm_model/v1/weights.bin is missing'),
      'version v1: scalers/nvda/v1.json does not match; models/nvda_lstm_model/v1/weights.bin is missing',
    );
    assert.equal(redact('cannot open /srv/app/persistent_data'), 'cannot open .');
    assert.equal(redact('/srv/app/dist/web/index.html'), 'app/dist/web/index.html');
  });

  it('leaves messages without server paths alone, URL paths included', () => {
    assert.equal(redact('no route for GET /api/v1/nope'), 'no route for GET /api/v1/nope');
  });
});
