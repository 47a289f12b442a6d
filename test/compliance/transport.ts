export * from '../../src/compliance/transport.js';
