// What DBeaver, Metabase and Tableau do on connecting to `botlake serve` (tests/it/pg.rs),
// with the PostgreSQL JDBC driver: list the tables and views, describe one, run a prepared
// query with date parameters. Prints one line per finding, tab-separated.
//
// Run: java -cp /usr/share/java/postgresql.jar tests/pg/Jdbc.java jdbc:postgresql://HOST:PORT/botlake PASSWORD
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.Date;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Properties;

public class Jdbc {
    public static void main(String[] args) throws Exception {
        Properties props = new Properties();
        props.setProperty("user", "botlake");
        props.setProperty("password", args[1]);
        try (Connection conn = DriverManager.getConnection(args[0], props)) {
            DatabaseMetaData meta = conn.getMetaData();
            System.out.println("product\t" + meta.getDatabaseProductName() + "\t" + meta.getDatabaseProductVersion());
            try (ResultSet rs = meta.getTables(null, null, "%", new String[] {"TABLE", "VIEW"})) {
                while (rs.next()) {
                    System.out.println("table\t" + rs.getString("TABLE_SCHEM") + "\t" + rs.getString("TABLE_NAME") + "\t" + rs.getString("TABLE_TYPE"));
                }
            }
            try (ResultSet rs = meta.getColumns(null, "lake", "kpi_daily", "%")) {
                while (rs.next()) {
                    System.out.println("column\t" + rs.getString("COLUMN_NAME") + "\t" + rs.getString("TYPE_NAME"));
                }
            }
            // A prepared query, executed twice (the driver prepares it server-side on the
            // fifth use by default; prepareThreshold=1 in the URL makes it the first).
            String sql = "SELECT day, vendor, runs FROM kpi_daily WHERE day BETWEEN ? AND ? AND vendor = ? ORDER BY day";
            try (PreparedStatement st = conn.prepareStatement(sql)) {
                for (int i = 0; i < 2; i++) {
                    st.setDate(1, Date.valueOf(args[2]));
                    st.setDate(2, Date.valueOf(args[3]));
                    st.setString(3, "automation_anywhere");
                    try (ResultSet rs = st.executeQuery()) {
                        while (rs.next()) {
                            if (i == 1) {
                                System.out.println("row\t" + rs.getDate(1) + "\t" + rs.getString(2) + "\t" + rs.getLong(3));
                            }
                        }
                    }
                }
            }
            // A write is refused with SQLSTATE 25006, and the connection goes on.
            try (PreparedStatement st = conn.prepareStatement("DELETE FROM aa_bot_runs")) {
                st.executeUpdate();
                System.out.println("write\taccepted");
            } catch (SQLException e) {
                System.out.println("write\t" + e.getSQLState());
            }
            try (PreparedStatement st = conn.prepareStatement("SELECT count(*) FROM runs");
                 ResultSet rs = st.executeQuery()) {
                rs.next();
                System.out.println("runs\t" + rs.getLong(1));
            }
        }
    }
}
