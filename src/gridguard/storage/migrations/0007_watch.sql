-- gridguard SQLite schema, version 7: the building watch (second line of defense).
-- Health monitoring points (健康监测点, one per village group) are registry entries;
-- their daily reports are insert-once facts shaped like an observer's check-in.
-- The missed-report queries probe (point_id, at) per point, as checkins (building_id, at)
-- is probed per building: one index seek each, whatever the size of the city.

CREATE TABLE monitoring_points (
    "id" TEXT NOT NULL PRIMARY KEY,
    "area_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "observer_id" TEXT,
    "jurisdiction" TEXT NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 1,
    FOREIGN KEY ("area_id") REFERENCES areas ("id"),
    FOREIGN KEY ("observer_id") REFERENCES persons ("id")
);
CREATE INDEX monitoring_points_jurisdiction ON monitoring_points ("jurisdiction");
CREATE INDEX monitoring_points_area_id ON monitoring_points ("area_id");
CREATE INDEX monitoring_points_observer_id ON monitoring_points ("observer_id");

CREATE TABLE point_reports (
    "id" TEXT NOT NULL PRIMARY KEY,
    "at" TEXT NOT NULL,
    "recorded_by" TEXT,
    "point_id" TEXT NOT NULL,
    "observer_id" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "anomalies" TEXT NOT NULL,
    "jurisdiction" TEXT NOT NULL,
    FOREIGN KEY ("point_id") REFERENCES monitoring_points ("id"),
    FOREIGN KEY ("observer_id") REFERENCES persons ("id")
);
CREATE INDEX point_reports_point_id ON point_reports ("point_id", "at");
CREATE INDEX point_reports_jurisdiction_at ON point_reports ("jurisdiction", "at");
