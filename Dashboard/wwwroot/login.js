// The login page: carries the page the user wanted back to it, and says when a token was refused.
const query = new URLSearchParams(location.search);
const back = query.get('ReturnUrl');
if (back && back.startsWith('/') && !back.startsWith('//')) document.getElementById('return-url').value = back;
if (query.get('failed')) document.getElementById('login-error').hidden = false;
