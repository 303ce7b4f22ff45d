-- gridguard SQLite schema, version 1.
-- Every table carries the jurisdiction (community or village) that owns its rows.
-- Timestamps are UTC text 'YYYY-MM-DD HH:MM:SS.ffffff'; nested values are JSON text.

CREATE TABLE areas (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "level" TEXT NOT NULL,
    "parent_id" TEXT,
    "code" TEXT,
    "jurisdiction" TEXT NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 1,
    FOREIGN KEY ("parent_id") REFERENCES areas ("id")
);
CREATE INDEX areas_jurisdiction ON areas ("jurisdiction");
CREATE INDEX areas_parent_id ON areas ("parent_id");

CREATE TABLE buildings (
    "id" TEXT NOT NULL PRIMARY KEY,
    "area_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "compound" TEXT,
    "managed" INTEGER NOT NULL,
    "observer_id" TEXT,
    "jurisdiction" TEXT NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 1,
    FOREIGN KEY ("area_id") REFERENCES areas ("id"),
    FOREIGN KEY ("observer_id") REFERENCES persons ("id")
);
CREATE INDEX buildings_jurisdiction ON buildings ("jurisdiction");
CREATE INDEX buildings_area_id ON buildings ("area_id");
CREATE INDEX buildings_observer_id ON buildings ("observer_id");

CREATE TABLE stairwells (
    "id" TEXT NOT NULL PRIMARY KEY,
    "building_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "floors" INTEGER NOT NULL,
    "doors_per_floor" INTEGER NOT NULL,
    "jurisdiction" TEXT NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 1,
    FOREIGN KEY ("building_id") REFERENCES buildings ("id")
);
CREATE INDEX stairwells_jurisdiction ON stairwells ("jurisdiction");
CREATE INDEX stairwells_building_id ON stairwells ("building_id");

CREATE TABLE households (
    "id" TEXT NOT NULL PRIMARY KEY,
    "stairwell_id" TEXT NOT NULL,
    "floor" INTEGER NOT NULL,
    "door" TEXT NOT NULL,
    "address" TEXT NOT NULL,
    "phone" TEXT,
    "jurisdiction" TEXT NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 1,
    FOREIGN KEY ("stairwell_id") REFERENCES stairwells ("id")
);
CREATE INDEX households_jurisdiction ON households ("jurisdiction");
CREATE INDEX households_stairwell_id ON households ("stairwell_id");

CREATE TABLE persons (
    "id" TEXT NOT NULL PRIMARY KEY,
    "household_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "resident_id" TEXT,
    "phone" TEXT,
    "sex" TEXT,
    "birth_date" TEXT,
    "residency" TEXT NOT NULL,
    "jurisdiction" TEXT NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 1,
    FOREIGN KEY ("household_id") REFERENCES households ("id")
);
CREATE INDEX persons_household_id ON persons ("household_id");

CREATE TABLE teams (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "area_id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "members" TEXT NOT NULL,
    "home_grid_id" TEXT,
    "jurisdiction" TEXT NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 1,
    FOREIGN KEY ("area_id") REFERENCES areas ("id"),
    FOREIGN KEY ("home_grid_id") REFERENCES areas ("id")
);
CREATE INDEX teams_jurisdiction ON teams ("jurisdiction");
CREATE INDEX teams_area_id ON teams ("area_id");
CREATE INDEX teams_home_grid_id ON teams ("home_grid_id");

CREATE TABLE campaigns (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "scope" TEXT NOT NULL,
    "start" TEXT NOT NULL,
    "end" TEXT,
    "time_zone" TEXT NOT NULL,
    "outbreak_areas" TEXT NOT NULL,
    "look_back_days" INTEGER NOT NULL,
    "jurisdiction" TEXT NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX campaigns_jurisdiction ON campaigns ("jurisdiction");

CREATE TABLE visits (
    "id" TEXT NOT NULL PRIMARY KEY,
    "at" TEXT NOT NULL,
    "recorded_by" TEXT,
    "household_id" TEXT NOT NULL,
    "outcome" TEXT NOT NULL,
    "channel" TEXT NOT NULL,
    "team_id" TEXT,
    "campaign_id" TEXT,
    "note" TEXT NOT NULL,
    "jurisdiction" TEXT NOT NULL,
    FOREIGN KEY ("household_id") REFERENCES households ("id"),
    FOREIGN KEY ("team_id") REFERENCES teams ("id")
);
CREATE INDEX visits_household_id ON visits ("household_id", "at");
CREATE INDEX visits_jurisdiction_at ON visits ("jurisdiction", "at");

CREATE TABLE screenings (
    "id" TEXT NOT NULL PRIMARY KEY,
    "at" TEXT NOT NULL,
    "recorded_by" TEXT,
    "person_id" TEXT NOT NULL,
    "visit_id" TEXT,
    "trips" TEXT NOT NULL,
    "exposures" TEXT NOT NULL,
    "symptoms" TEXT NOT NULL,
    "temperature" REAL,
    "jurisdiction" TEXT NOT NULL,
    FOREIGN KEY ("person_id") REFERENCES persons ("id")
);
CREATE INDEX screenings_person_id ON screenings ("person_id", "at");
CREATE INDEX screenings_jurisdiction_at ON screenings ("jurisdiction", "at");

CREATE TABLE checkins (
    "id" TEXT NOT NULL PRIMARY KEY,
    "at" TEXT NOT NULL,
    "recorded_by" TEXT,
    "building_id" TEXT NOT NULL,
    "observer_id" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "anomalies" TEXT NOT NULL,
    "jurisdiction" TEXT NOT NULL,
    FOREIGN KEY ("building_id") REFERENCES buildings ("id"),
    FOREIGN KEY ("observer_id") REFERENCES persons ("id")
);
CREATE INDEX checkins_building_id ON checkins ("building_id", "at");
CREATE INDEX checkins_jurisdiction_at ON checkins ("jurisdiction", "at");

CREATE TABLE health_reports (
    "id" TEXT NOT NULL PRIMARY KEY,
    "at" TEXT NOT NULL,
    "recorded_by" TEXT,
    "person_id" TEXT NOT NULL,
    "temperature" REAL,
    "symptoms" TEXT NOT NULL,
    "jurisdiction" TEXT NOT NULL,
    FOREIGN KEY ("person_id") REFERENCES persons ("id")
);
CREATE INDEX health_reports_person_id ON health_reports ("person_id", "at");
CREATE INDEX health_reports_jurisdiction_at ON health_reports ("jurisdiction", "at");

CREATE TABLE service_requests (
    "id" TEXT NOT NULL PRIMARY KEY,
    "at" TEXT NOT NULL,
    "recorded_by" TEXT,
    "household_id" TEXT NOT NULL,
    "service" TEXT NOT NULL,
    "note" TEXT NOT NULL,
    "jurisdiction" TEXT NOT NULL,
    FOREIGN KEY ("household_id") REFERENCES households ("id")
);
CREATE INDEX service_requests_household_id ON service_requests ("household_id", "at");
CREATE INDEX service_requests_jurisdiction_at ON service_requests ("jurisdiction", "at");
