import path from 'node:path'

/**
 * Real Alertmanager webhook bodies (and the configs that produced them), captured from
 * Prometheus 2.42 + Alertmanager 0.25; copied from the shared fixtures so the tests
 * need nothing outside the repository. See the README.md in the folder.
 */
export const ALERTMANAGER_FIXTURES = path.resolve(__dirname, '..', 'fixtures', 'alertmanager')
