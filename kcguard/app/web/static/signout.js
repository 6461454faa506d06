// Sends the sign-out form to Keycloak at once; without scripts the button does it.
document.getElementById("end-session").submit();
