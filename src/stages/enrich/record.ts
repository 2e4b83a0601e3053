/** The team of an alert no catalog service matched (the schema's default). */
export const UNOWNED = 'unowned'
