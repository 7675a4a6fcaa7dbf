/**
 * Every connector module the hub ships; importing one registers its definition. Add a new
 * connector here (there is deliberately no auto-discovery).
 */
import '../../connectors/salesforce';
import '../../connectors/kingdee';
import '../../connectors/thingsboard';
import '../../connectors/http-json';
