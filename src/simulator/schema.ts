/**
 * Object types and their property definitions: what the batch endpoint validates against and what the
 * properties endpoint lists.
 */

/** HubSpot's property `type` values the simulator knows how to validate. */
export const PropertyType = {
  string: 'string',
  number: 'number',
  bool: 'bool',
  enumeration: 'enumeration',
  date: 'date',
  datetime: 'datetime',
} as const;
export type PropertyType = (typeof PropertyType)[keyof typeof PropertyType];

/** One property of an object type. */
export interface PropertySchema {
  name: string;
  label?: string;
  type: PropertyType;
  /** HubSpot's `fieldType`; derived from `type` when absent. */
  fieldType?: string;
  /** Allowed values of an enumeration. */
  options?: string[];
  /** Unique properties can serve as `idProperty` and no two objects may share a non-empty value. */
  hasUniqueValue?: boolean;
  /** Read-only (system) properties reject every write. */
  readOnly?: boolean;
  /** Extra format check on string values. */
  format?: 'email';
}

/** One object type. */
export interface ObjectSchema {
  /** HubSpot's object type id, e.g. `0-1`; the path may name the type by it. */
  objectTypeId: string;
  /** Upper-case singular name used in error messages, e.g. `CONTACT`. */
  singularName: string;
  properties: PropertySchema[];
}

/** Object types by name, e.g. `contacts`. */
export type ObjectSchemas = Record<string, ObjectSchema>;

// Every object type carries these; HubSpot rejects writes to them and, despite being an id, hs_object_id
// cannot be an idProperty ("Unable to perform update/upsert by non-unique 0-2 property hs_object_id").
function systemProperties(): PropertySchema[] {
  return [
    { name: 'hs_object_id', label: 'Record ID', type: 'number', readOnly: true },
    { name: 'createdate', label: 'Create Date', type: 'datetime', readOnly: true },
    { name: 'lastmodifieddate', label: 'Last Modified Date', type: 'datetime', readOnly: true },
  ];
}

/** The object types HubSpot ships with, reduced to the properties tests and demos use. */
export function builtInSchemas(): ObjectSchemas {
  return {
    contacts: {
      objectTypeId: '0-1',
      singularName: 'CONTACT',
      properties: [
        { name: 'email', label: 'Email', type: 'string', hasUniqueValue: true, format: 'email' },
        { name: 'firstname', label: 'First Name', type: 'string' },
        { name: 'lastname', label: 'Last Name', type: 'string' },
        { name: 'phone', label: 'Phone Number', type: 'string', fieldType: 'phonenumber' },
        { name: 'company', label: 'Company Name', type: 'string' },
        { name: 'city', label: 'City', type: 'string' },
        {
          name: 'lifecyclestage',
          label: 'Lifecycle Stage',
          type: 'enumeration',
          options: [
            'subscriber',
            'lead',
            'marketingqualifiedlead',
            'salesqualifiedlead',
            'opportunity',
            'customer',
            'evangelist',
            'other',
          ],
        },
        { name: 'age', label: 'Age', type: 'number' },
        { name: 'hs_marketable_status', label: 'Marketing contact status', type: 'bool' },
        { name: 'notes', label: 'Notes', type: 'string', fieldType: 'textarea' },
        { name: 'external_id', label: 'External ID', type: 'string', hasUniqueValue: true },
        // Filled by merges: the loser's emails, which keep naming the surviving contact.
        { name: 'hs_additional_emails', label: 'Additional email addresses', type: 'string', readOnly: true },
        ...systemProperties(),
      ],
    },
    companies: {
      objectTypeId: '0-2',
      singularName: 'COMPANY',
      properties: [
        { name: 'domain', label: 'Company Domain Name', type: 'string', hasUniqueValue: true },
        { name: 'name', label: 'Name', type: 'string' },
        {
          name: 'industry',
          label: 'Industry',
          type: 'enumeration',
          options: ['COMPUTER_SOFTWARE', 'FINANCIAL_SERVICES', 'HOSPITAL_HEALTH_CARE', 'RETAIL', 'EDUCATION'],
        },
        { name: 'numberofemployees', label: 'Number of Employees', type: 'number' },
        { name: 'city', label: 'City', type: 'string' },
        { name: 'description', label: 'Description', type: 'string', fieldType: 'textarea' },
        { name: 'external_id', label: 'External ID', type: 'string', hasUniqueValue: true },
        ...systemProperties(),
      ],
    },
    deals: {
      objectTypeId: '0-3',
      singularName: 'DEAL',
      properties: [
        { name: 'dealname', label: 'Deal Name', type: 'string' },
        { name: 'amount', label: 'Amount', type: 'number' },
        {
          name: 'dealstage',
          label: 'Deal Stage',
          type: 'enumeration',
          options: ['appointmentscheduled', 'qualifiedtobuy', 'closedwon', 'closedlost'],
        },
        { name: 'pipeline', label: 'Pipeline', type: 'string' },
        { name: 'closedate', label: 'Close Date', type: 'date' },
        ...systemProperties(),
      ],
    },
    tickets: {
      objectTypeId: '0-5',
      singularName: 'TICKET',
      properties: [
        { name: 'subject', label: 'Ticket name', type: 'string' },
        { name: 'content', label: 'Ticket description', type: 'string', fieldType: 'textarea' },
        {
          name: 'hs_pipeline_stage',
          label: 'Ticket status',
          type: 'enumeration',
          options: ['1', '2', '3', '4'],
        },
        {
          name: 'hs_ticket_priority',
          label: 'Priority',
          type: 'enumeration',
          options: ['LOW', 'MEDIUM', 'HIGH'],
        },
        ...systemProperties(),
      ],
    },
  };
}

/** A schema set with lookups by name or type id. */
export class SchemaRegistry {
  private readonly byAlias = new Map<string, { name: string; schema: ObjectSchema }>();

  constructor(readonly schemas: ObjectSchemas) {
    for (const [name, schema] of Object.entries(schemas)) {
      this.byAlias.set(name, { name, schema });
      this.byAlias.set(schema.objectTypeId, { name, schema });
    }
  }

  /** Resolves a path segment (`contacts` or `0-1`) to the canonical type name and its schema. */
  resolve(objectType: string): { name: string; schema: ObjectSchema } | undefined {
    return this.byAlias.get(objectType);
  }

  /** The canonical name of a type, or the input unchanged when unknown (for inspection of unknown types). */
  canonical(objectType: string): string {
    return this.byAlias.get(objectType)?.name ?? objectType;
  }
}

/** Looks a property up by name. */
export function findProperty(schema: ObjectSchema, name: string): PropertySchema | undefined {
  return schema.properties.find((p) => p.name === name);
}

function defaultFieldType(p: PropertySchema): string {
  switch (p.type) {
    case 'number':
      return 'number';
    case 'bool':
      return 'booleancheckbox';
    case 'enumeration':
      return 'select';
    case 'date':
    case 'datetime':
      return 'date';
    default:
      return 'text';
  }
}

function optionLabel(value: string): string {
  return value.charAt(0).toUpperCase() + value.slice(1).toLowerCase().replaceAll('_', ' ');
}

/** The body of `GET /crm/properties/.../{objectType}`, in HubSpot's shape. */
export function propertiesBody(schema: ObjectSchema): { results: unknown[] } {
  return {
    results: schema.properties.map((p, index) => {
      const options =
        p.type === 'bool'
          ? [
              { label: 'Yes', value: 'true', displayOrder: 0, hidden: false },
              { label: 'No', value: 'false', displayOrder: 1, hidden: false },
            ]
          : (p.options ?? []).map((value, i) => ({
              label: optionLabel(value),
              value,
              displayOrder: i,
              hidden: false,
            }));
      return {
        name: p.name,
        label: p.label ?? p.name,
        type: p.type,
        fieldType: p.fieldType ?? defaultFieldType(p),
        description: '',
        groupName: 'information',
        options,
        displayOrder: index,
        calculated: false,
        externalOptions: false,
        hasUniqueValue: p.hasUniqueValue ?? false,
        hidden: false,
        formField: !p.readOnly,
        archived: false,
        modificationMetadata: {
          archivable: !p.readOnly,
          readOnlyDefinition: p.readOnly ?? false,
          readOnlyValue: p.readOnly ?? false,
        },
      };
    }),
  };
}
