/** What a reader sees of a ticket message once the incident prefix ("[INC-…] ") is set aside. */
export const INCIDENT_PREFIX = /^\[(INC-[0-9a-f]{12}(?:-\d+)?)\] /;

export const stripIncident = (body: string | undefined): string => (body ?? "").replace(INCIDENT_PREFIX, "");

export const shown = (m: { body?: string | undefined }): string => stripIncident(m.body);

export const incidentOfBody = (body: string | undefined): string | undefined => INCIDENT_PREFIX.exec(body ?? "")?.[1];
