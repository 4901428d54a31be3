import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LruMap } from '../../../src/cache/lru.js';

describe('LruMap', () => {
  it('holds at most maxEntries and drops the least recently written key first', () => {
    const lru = new LruMap<string, number>(3);
    for (const [key, value] of [['a', 1], ['b', 2], ['c', 3], ['d', 4]] as const) lru.set(key, value);
    assert.equal(lru.size, 3);
    assert.equal(lru.get('a'), undefined, 'the oldest key went');
    assert.deepEqual(['b', 'c', 'd'].map((k) => lru.get(k)), [2, 3, 4]);
  });

  it('a read or a rewrite makes a key the most recent, so a hot key survives a full map', () => {
    const lru = new LruMap<string, number>(3);
    lru.set('a', 1).set('b', 2).set('c', 3);
    assert.equal(lru.get('a'), 1);
    lru.set('d', 4); // evicts b, not a
    assert.equal(lru.get('b'), undefined);
    lru.set('c', 30);
    lru.set('e', 5); // evicts a (read before d was written), keeps c (rewritten)
    assert.equal(lru.get('a'), undefined);
    assert.deepEqual(['c', 'd', 'e'].map((k) => lru.get(k)), [30, 4, 5]);
    assert.equal(lru.size, 3);
  });

  it('keeps stored undefined-like values distinct from missing keys, and deletes and clears', () => {
    const lru = new LruMap<string, number | null>(2);
    lru.set('zero', 0).set('null', null);
    assert.equal(lru.get('zero'), 0);
    assert.equal(lru.get('null'), null);
    assert.equal(lru.delete('zero'), true);
    assert.equal(lru.delete('zero'), false);
    assert.equal(lru.size, 1);
    lru.clear();
    assert.equal(lru.size, 0);
  });

  it('refuses a bound that is not a positive integer', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) assert.throws(() => new LruMap(bad), RangeError);
    assert.equal(new LruMap(1).set('a', 1).set('b', 2).size, 1);
  });
});
