export * from '../../src/compliance/storage.js';
